// The mini program's language: Chinese or English, chosen once at launch from the phone's
// setting (`my.getSystemInfoSync().language`, e.g. `zh-Hans`, `zh_CN`, `en`, `en-US`). English
// when its first subtag is `en`; Chinese otherwise, since Chinese is what Alipay's users read and
// the app has no third language: an unknown or missing setting, or a base library without the
// API, reads Chinese. Every user-visible string is in ./zh.js and ./en.js (same keys, the
// client tests check it); pages put their part of the table in `data.s` for the AXML and take
// toasts and error messages from here.
var TABLES = { zh: require('./zh.js'), en: require('./en.js') };
var DEFAULT_LANGUAGE = 'zh';

// The table's language for a system language string.
function languageOf(system) {
  var first = String(system || '').toLowerCase().split(/[-_]/)[0];
  return TABLES[first] ? first : DEFAULT_LANGUAGE;
}

function systemLanguage(my) {
  try {
    var info = my && typeof my.getSystemInfoSync === 'function' ? my.getSystemInfoSync() : null;
    return info && info.language;
  } catch (e) {
    return ''; // a base library that throws here: the default language
  }
}

// `{name}` placeholders filled from `params`; an unknown one stays as written.
function format(text, params) {
  return String(text).replace(/\{(\w+)\}/g, function (whole, name) {
    return params && params[name] !== undefined ? String(params[name]) : whole;
  });
}

function Strings(language) {
  this.language = language;
  this.table = TABLES[language];
}

// A page's part of the table (`todos`, `addTodo`, ...), for `data.s`.
Strings.prototype.page = function (name) {
  return this.table[name];
};

// One string by its path, e.g. t('todos.signedOutToast') or t('pro.quota', {quota: 500}).
Strings.prototype.t = function (path, params) {
  var node = this.table;
  path.split('.').forEach(function (part) {
    node = node === undefined ? undefined : node[part];
  });
  if (typeof node !== 'string') {
    throw new Error('no string "' + path + '" in ' + this.language + '.js');
  }
  return format(node, params);
};

// What a {code, message} error from lib/backend.js says to the user, in the user's language:
// by its code (the server's messages are for developers, in English), or a general message that
// names the code, so a report can still say what happened.
Strings.prototype.errorMessage = function (err) {
  var code = err && typeof err.code === 'string' ? err.code : 'Internal';
  var known = this.table.errors[code];
  return known || format(this.table.errors.other, { code: code });
};

// The error as pages keep it in their data: the code and the user's message.
Strings.prototype.error = function (err) {
  return { code: err && typeof err.code === 'string' ? err.code : 'Internal',
    message: this.errorMessage(err) };
};

function forPhone(my) {
  return new Strings(languageOf(systemLanguage(my)));
}

module.exports = {
  forPhone: forPhone,
  forLanguage: function (language) { return new Strings(languageOf(language)); },
  languageOf: languageOf,
  format: format,
  LANGUAGES: Object.keys(TABLES)
};
