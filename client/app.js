// The todo mini program. `config.js` is written by `make client-config` (see README, "The mini
// program"); the backend access lives in lib/.
var config = require('./config.js');
var backend = require('./lib/backend.js');
var i18n = require('./lib/i18n/index.js');

App({
  backend: null,
  i18n: null, // the user's language (lib/i18n): every page's strings come from here

  onLaunch: function () {
    this.i18n = i18n.forPhone(my);
    // Login is lazy: the first db call opens a session (my.getAuthCode), later ones reuse it.
    this.backend = backend.createBackend(config, my);
  }
});
