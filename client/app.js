// The todo mini program. `config.js` is written by `make client-config` (see README, "The mini
// program"); the backend access lives in lib/.
var config = require('./config.js');
var backend = require('./lib/backend.js');

App({
  backend: null,

  onLaunch: function () {
    // Login is lazy: the first db call opens a session (my.getAuthCode), later ones reuse it.
    this.backend = backend.createBackend(config, my);
  }
});
