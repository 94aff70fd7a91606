// The mini program speaks its user's language: Chinese (the default) or English, from
// `my.getSystemInfoSync().language`; every user-visible string is in client/lib/i18n/zh.js and
// en.js, with the same keys; the pages' AXML, JSON and JS hold none of their own. No cloud needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { FakeMy } from './my.mjs';
import { CLIENT_DIR, MiniProgramRuntime } from './runtime.mjs';

const require = createRequire(import.meta.url);
const i18n = require('../../client/lib/i18n/index.js');
const TABLES = { zh: require('../../client/lib/i18n/zh.js'), en: require('../../client/lib/i18n/en.js') };
const ROOT = path.resolve(CLIENT_DIR, '..');
const CJK = /[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]/;

const PAGES = JSON.parse(fs.readFileSync(path.join(CLIENT_DIR, 'app.json'), 'utf8')).pages;

// path -> string, for every leaf of a table.
function leaves(table, prefix = '') {
  return Object.entries(table).flatMap(([key, value]) => (typeof value === 'string'
    ? [[prefix + key, value]] : leaves(value, prefix + key + '.')));
}

const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('the language is chosen from the phone\'s setting: English for en, Chinese otherwise', () => {
  const cases = {
    'zh-Hans': 'zh', 'zh-Hant': 'zh', zh_CN: 'zh', 'zh-HK': 'zh', zh: 'zh',
    en: 'en', 'en-US': 'en', en_GB: 'en', EN: 'en',
    ja: 'zh', fr_FR: 'zh', '': 'zh', english: 'zh',
  };
  for (const [system, expected] of Object.entries(cases)) {
    assert.equal(i18n.languageOf(system), expected, system);
    const phone = new FakeMy({ alipaySandbox: 'http://127.0.0.1:9', language: system });
    assert.equal(i18n.forPhone(phone.api).language, expected, system);
  }
  assert.equal(i18n.languageOf(undefined), 'zh');
  // A base library without the API, or one that throws, or answers nothing: Chinese.
  assert.equal(i18n.forPhone({}).language, 'zh');
  assert.equal(i18n.forPhone({ getSystemInfoSync: () => { throw new Error('no'); } }).language, 'zh');
  assert.equal(i18n.forPhone({ getSystemInfoSync: () => null }).language, 'zh');
});

test('both tables have the same strings, none empty, with the same placeholders', () => {
  const zh = new Map(leaves(TABLES.zh));
  const en = new Map(leaves(TABLES.en));
  assert.deepEqual([...zh.keys()].sort(), [...en.keys()].sort());
  assert.ok(zh.size >= 30, `${zh.size} strings`);
  for (const [key, text] of zh) {
    assert.ok(text.trim(), `zh ${key} is empty`);
    assert.ok(en.get(key).trim(), `en ${key} is empty`);
    assert.deepEqual(placeholders(text), placeholders(en.get(key)), key);
    assert.match(text, CJK, `zh ${key} is not Chinese: ${text}`);
    assert.doesNotMatch(en.get(key), CJK, `en ${key} is not English: ${en.get(key)}`);
  }
});

test('every error code the server or the client can answer has a message in both languages', () => {
  const source = fs.readFileSync(path.join(ROOT, 'shared/miniapp/errors.py'), 'utf8');
  const codes = [...source.matchAll(/^\s+code, http_status, default_message = \(?\s*"(\w+)"/gm)]
    .map((m) => m[1]);
  assert.ok(codes.length >= 14, codes.join());
  // The client's own (lib/backend.js, lib/request.js, lib/pictures.js) and FC's that reach the
  // pages.
  codes.push('NetworkError', 'AuthCodeFailed', 'SecurityTokenExpired', 'InvalidSecurityToken',
    'Internal', 'PictureNotChosen', 'PictureUnreadable', 'UploadFailed');
  for (const file of ['lib/backend.js', 'lib/request.js', 'lib/pictures.js']) {
    const source = fs.readFileSync(path.join(CLIENT_DIR, file), 'utf8');
    for (const [, code] of source.matchAll(/(?:BackendError|PictureError)\('(\w+)'/g)) {
      assert.ok(codes.includes(code), `${file} raises ${code}: add it above and to the tables`);
    }
  }
  for (const language of i18n.LANGUAGES) {
    const strings = i18n.forLanguage(language);
    for (const code of codes) {
      assert.ok(TABLES[language].errors[code], `${language}.js has no message for ${code}`);
      assert.equal(strings.errorMessage({ code, message: 'server text' }), TABLES[language].errors[code]);
    }
    // A code the tables do not know is named in the general message; the server's English
    // message is never what the user reads.
    const other = strings.errorMessage({ code: 'SomethingNew', message: 'server text' });
    assert.equal(other, i18n.format(TABLES[language].errors.other, { code: 'SomethingNew' }));
    assert.match(other, /SomethingNew/);
    assert.deepEqual(strings.error(new TypeError('x')), { code: 'Internal', message: TABLES[language].errors.Internal });
  }
});

test('t() fills placeholders and refuses a path that is not a string', () => {
  const strings = i18n.forLanguage('en');
  assert.equal(i18n.format('{a} of {b}, {c}', { a: 1, b: '2' }), '1 of 2, {c}');
  assert.equal(strings.t('todos.title'), TABLES.en.todos.title);
  assert.throws(() => strings.t('todos.nothing'), /no string "todos.nothing" in en.js/);
  assert.throws(() => strings.t('todos'), /no string "todos"/);
});

// The names a page's .axml reads from `s`, and the table the page puts there.
function pageStrings(route) {
  const js = fs.readFileSync(path.join(CLIENT_DIR, route + '.js'), 'utf8');
  const table = js.match(/i18n\.page\('(\w+)'\)/);
  assert.ok(table, `${route}.js takes no strings from lib/i18n`);
  const axml = fs.readFileSync(path.join(CLIENT_DIR, route + '.axml'), 'utf8');
  return { table: table[1], js, axml, used: [...axml.matchAll(/\bs\.(\w+)/g)].map((m) => m[1]) };
}

test('the pages\' templates show no text of their own, only strings from the tables', () => {
  for (const route of PAGES) {
    const { table, axml, used } = pageStrings(route);
    assert.ok(used.length > 0, route);
    for (const name of used) {
      for (const language of i18n.LANGUAGES) {
        assert.equal(typeof TABLES[language][table][name], 'string', `${route} uses s.${name}: not in ${language}.js ${table}`);
      }
    }
    const withoutComments = axml.replace(/<!--[\s\S]*?-->/g, '');
    // Text between tags is nothing but {{expressions}}.
    for (const [, text] of withoutComments.matchAll(/>([^<]*)</g)) {
      assert.equal(text.replace(/\{\{[\s\S]*?\}\}/g, '').trim(), '', `${route}.axml shows the text "${text.trim()}"`);
    }
    // So are the attributes a user reads.
    for (const [, name, value] of withoutComments.matchAll(/\b(placeholder|title|alt|confirm-type|aria-label)="([^"]*)"/g)) {
      assert.match(value, /^\{\{[^}]+\}\}$/, `${route}.axml ${name}="${value}"`);
    }
  }
});

test('titles come from the tables: no defaultTitle in app.json or a page\'s .json', () => {
  const app = JSON.parse(fs.readFileSync(path.join(CLIENT_DIR, 'app.json'), 'utf8'));
  assert.equal(app.window.defaultTitle, undefined);
  for (const route of PAGES) {
    const json = JSON.parse(fs.readFileSync(path.join(CLIENT_DIR, route + '.json'), 'utf8'));
    assert.equal(json.defaultTitle, undefined, route);
    assert.match(pageStrings(route).js, /my\.setNavigationBar\(\{ title: this\.i18n\.t\('\w+\.title'\) \}\)/, route);
  }
});

test('the app\'s and pages\' code holds no user-visible string: no literal with a space or CJK', () => {
  const files = ['app.js', ...PAGES.map((route) => route + '.js')];
  for (const file of files) {
    const code = fs.readFileSync(path.join(CLIENT_DIR, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    for (const [literal, , text] of code.matchAll(/(['"`])((?:\\.|(?!\1).)*)\1/g)) {
      assert.ok(!/\s/.test(text) && !CJK.test(text), `${file} has the string ${literal}`);
    }
  }
});

test('a phone shows the app in its language, before any network: the login error too', async () => {
  for (const [system, language] of [['zh-Hans', 'zh'], ['en-US', 'en']]) {
    // The Alipay sandbox is unreachable: getAuthCode fails, the list shows why and a retry.
    const phone = new FakeMy({ alipaySandbox: 'http://127.0.0.1:9', language: system });
    const runtime = new MiniProgramRuntime({ phone, configFile: path.join(CLIENT_DIR, 'config.example.js') }).launch();
    assert.equal(runtime.app.i18n.language, language);
    const page = await runtime.openHome();
    assert.deepEqual(page.data.s, TABLES[language].todos);
    assert.deepEqual(phone.titles, [TABLES[language].todos.title]);
    assert.deepEqual(page.data.error, { code: 'AuthCodeFailed', message: TABLES[language].errors.AuthCodeFailed });
    assert.equal(phone.requests.length, 0);
    // The add page: its strings and title, and the empty-text toast.
    page.addTodo();
    await runtime.settle();
    const add = runtime.currentPage;
    assert.deepEqual(add.data.s, TABLES[language].addTodo);
    assert.equal(phone.titles.at(-1), TABLES[language].addTodo.title);
    await add.add();
    assert.equal(phone.toasts.at(-1).content, TABLES[language].addTodo.typeFirst);
  }
});
