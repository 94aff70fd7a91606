// The backend as the pages see it: login, session keeping, STS refresh and the db function's v2
// API. Written for the mini program runtime: only `my.*` (passed in, so tests can give their own),
// no Node built-ins.
//
// - login: `my.getAuthCode` -> `POST {sessionUrl}` -> {sessionId, sts}, kept with
//   `my.setStorageSync` so a restarted app keeps its session;
// - before each db call, credentials that expire within `refreshMarginMs` are renewed with
//   `POST {sessionUrl}refresh`; if FC still says the token expired (a phone's clock can be wrong),
//   it refreshes once and calls again;
// - `SessionNotFound`/`SessionExpired` (from db or refresh): log in again once and repeat the call;
// - errors reach the pages as {code, message}: the API's error body, FC's error code,
//   `NetworkError`, or `Internal` for a success answer of the wrong shape (a proxy, a captive
//   portal or a server bug must never surface as a TypeError).
var fcsign = require('./fcsign.js');
var http = require('./request.js');

var STORAGE_KEY = 'miniapp.session';
var SESSION_GONE = { SessionNotFound: true, SessionExpired: true };
var TOKEN_REJECTED = { SecurityTokenExpired: true, InvalidSecurityToken: true };
var KEY_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function BackendError(code, message) {
  this.code = code;
  this.message = message;
}

function errorFrom(body, status) {
  if (body && body.error && typeof body.error.code === 'string') {
    return new BackendError(body.error.code, String(body.error.message || body.error.code));
  }
  if (body && typeof body.ErrorCode === 'string') { // Function Compute's own errors
    return new BackendError(body.ErrorCode, String(body.ErrorMessage || body.ErrorCode));
  }
  return new BackendError('Internal', 'Unexpected answer from the server (HTTP ' + status + ')');
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isText(value) {
  return typeof value === 'string' && value !== '';
}

// STS credentials as the session function answers them: four strings, a parseable Expiration.
function isCredentials(sts) {
  return isObject(sts) && isText(sts.AccessKeyId) && isText(sts.AccessKeySecret) &&
    isText(sts.SecurityToken) && isText(sts.Expiration) && !isNaN(Date.parse(sts.Expiration));
}

// A todo; `picture` (a file id, or null) is there once the server has pictures on todos.
function isTodo(todo) {
  return isObject(todo) && isText(todo.id) && typeof todo.text === 'string' &&
    typeof todo.completed === 'boolean' && typeof todo.version === 'number' &&
    (todo.picture === undefined || todo.picture === null || isText(todo.picture));
}

// The shape of each 200 answer the pages rely on, by session path and by db op.
var SESSION_ANSWERS = {
  '': function (body) { return isText(body.sessionId) && isCredentials(body.sts); },
  refresh: function (body) { return isCredentials(body.sts); },
  logout: function (body) { return body.ok === true; }
};
// An order as the orders collection answers it (issue 22's contract): `amount` is yuan as a
// string with two decimals, as Alipay writes it (never a float); `tradeNo` is what my.tradePay
// takes.
var ORDER_STATUSES = { CREATED: true, PAID: true, REFUNDED: true, PARTIALLY_REFUNDED: true,
  CLOSED: true };

function isOrder(order) {
  return isObject(order) && isText(order.id) && isText(order.sku) &&
    typeof order.amount === 'string' && /^\d+\.\d{2}$/.test(order.amount) &&
    ORDER_STATUSES[order.status] === true &&
    (order.tradeNo === undefined || order.tradeNo === null || isText(order.tradeNo));
}

function isPage(isItem) {
  return function (page) {
    return isObject(page) && Array.isArray(page.items) && page.items.every(isItem) &&
      (page.cursor === null || isText(page.cursor));
  };
}

var ORDER_ANSWERS = {
  // A new order must be payable: created with its Alipay trade.
  create: function (order) { return isOrder(order) && isText(order.tradeNo); },
  get: isOrder,
  sync: isOrder,
  list: isPage(isOrder)
};

// The files collection (issue 23's contract): an upload ticket, a committed file, a signed URL.
// `expiresAt` is in epoch milliseconds.
function isExpiry(value) {
  return typeof value === 'number' && isFinite(value) && value > 0;
}

function isFile(file) {
  return isObject(file) && isText(file.id) && typeof file.name === 'string' &&
    isText(file.contentType) && typeof file.size === 'number';
}

var FILE_ANSWERS = {
  prepareUpload: function (ticket) {
    return isObject(ticket) && isText(ticket.fileId) && /^https?:\/\//.test(ticket.url) &&
      isObject(ticket.formData) && isText(ticket.fileField) && isExpiry(ticket.expiresAt) &&
      Object.keys(ticket.formData).every(function (key) {
        return typeof ticket.formData[key] === 'string';
      });
  },
  commit: isFile,
  get: isFile,
  list: isPage(isFile),
  url: function (answer) {
    return isObject(answer) && /^https?:\/\//.test(answer.url) && isExpiry(answer.expiresAt);
  },
  remove: function (data) { return data === null; }
};

var TODO_ANSWERS = {
  add: isTodo,
  update: isTodo,
  get: isTodo,
  list: isPage(isTodo),
  remove: function (data) { return data === null; },
  quota: function (usage) {
    return isObject(usage) && ['quota', 'used', 'granted'].every(function (key) {
      return typeof usage[key] === 'number' && usage[key] >= 0;
    });
  }
};

function malformed(what) {
  return new BackendError('Internal', 'Unexpected answer from the server (' + what +
    ' of the wrong shape)');
}

// Whatever went wrong, as {code, message}: a thrown TypeError (our bug) becomes Internal.
function asBackendError(err) {
  if (err && typeof err.code === 'string' && typeof err.message === 'string') {
    return err;
  }
  return new BackendError('Internal', 'The app failed: ' + String(err && err.message || err));
}

function rethrow(err) {
  throw asBackendError(err);
}

// A response header by its lower-case name (runtimes differ in how they spell header names).
function header(headers, name) {
  var found = '';
  Object.keys(headers || {}).forEach(function (key) {
    if (key.toLowerCase() === name) {
      found = String(headers[key]);
    }
  });
  return found;
}

// The session function has a service of its own (its own role); a config written before that
// has none, and both functions were in serviceName.
function sessionUrl(config) {
  return config.endpoint + '/' + fcsign.API_VERSION + '/proxy/' +
    (config.sessionServiceName || config.serviceName) + '/' + config.sessionFunctionName + '/';
}

// An idempotency key for one todo the user means to add: 32 of [A-Za-z0-9]. Math.random is
// enough here (the key only has to differ between this user's adds within a day).
function newIdempotencyKey() {
  var key = Date.now().toString(36);
  while (key.length < 32) {
    key += KEY_CHARS.charAt(Math.floor(Math.random() * KEY_CHARS.length));
  }
  return key;
}

function Backend(config, my, options) {
  options = options || {};
  this.config = config;
  this.my = my;
  this.sessionUrl = sessionUrl(config);
  this.refreshMarginMs = options.refreshMarginMs || 3 * 60 * 1000;
  this.scopes = options.scopes || 'auth_base'; // the user id is all the backend needs: no consent
  this.now = options.now || function () { return Date.now(); };
  this.pendingLogin = null;
  this.pendingRefresh = null;
}

Backend.prototype.session = function () {
  var stored = this.my.getStorageSync({ key: STORAGE_KEY });
  var session = stored && stored.data;
  return session && session.sessionId && session.sts ? session : null;
};

Backend.prototype.saveSession = function (session) {
  if (session) {
    this.my.setStorageSync({ key: STORAGE_KEY, data: session });
  } else {
    this.my.removeStorageSync({ key: STORAGE_KEY });
  }
};

Backend.prototype.postSession = function (path, body) {
  return http.request(this.my, {
    url: this.sessionUrl + path,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    data: JSON.stringify(body)
  }).then(function (res) {
    var parsed = http.parseJson(res.data);
    if (res.status !== 200 || !parsed || parsed.error) {
      throw errorFrom(parsed, res.status);
    }
    if (!isObject(parsed) || !SESSION_ANSWERS[path](parsed)) {
      throw malformed((path || 'login') + ' answer');
    }
    return parsed;
  });
};

Backend.prototype.getAuthCode = function () {
  var my = this.my;
  var scopes = this.scopes;
  return new Promise(function (resolve, reject) {
    my.getAuthCode({
      scopes: scopes,
      success: resolve,
      fail: function (res) {
        reject(new BackendError('AuthCodeFailed', 'Alipay did not authorize the login' +
          (res && res.errorMessage ? ' (' + res.errorMessage + ')' : '')));
      }
    });
  });
};

// A new session; concurrent callers share one login.
Backend.prototype.login = function () {
  var self = this;
  if (!this.pendingLogin) {
    this.pendingLogin = this.getAuthCode().then(function (result) {
      return self.postSession('', result); // the getAuthCode result as is (the 2020 shape)
    }).then(function (body) {
      var session = { sessionId: body.sessionId, sts: body.sts };
      self.saveSession(session);
      return session;
    }).catch(rethrow);
    var clear = function () { self.pendingLogin = null; };
    this.pendingLogin.then(clear, clear);
  }
  return this.pendingLogin;
};

Backend.prototype.ensureSession = function () {
  var session = this.session();
  return session ? Promise.resolve(session) : this.login();
};

// Fresh STS credentials for the stored session; a gone session logs in again.
Backend.prototype.refresh = function () {
  var self = this;
  var session = this.session();
  if (!session) {
    return this.login();
  }
  if (!this.pendingRefresh) {
    this.pendingRefresh = this.postSession('refresh', { sessionId: session.sessionId })
      .then(function (body) {
        var renewed = { sessionId: session.sessionId, sts: body.sts };
        self.saveSession(renewed);
        return renewed;
      }, function (err) {
        if (SESSION_GONE[err.code]) {
          self.saveSession(null);
          return self.login();
        }
        throw err;
      }).catch(rethrow);
    var clear = function () { self.pendingRefresh = null; };
    this.pendingRefresh.then(clear, clear);
  }
  return this.pendingRefresh;
};

Backend.prototype.expiresSoon = function (session) {
  var expiration = Date.parse(session.sts.Expiration);
  return !(expiration - this.now() > this.refreshMarginMs);
};

// Ends the session on the server and forgets it here (also when the server cannot be reached:
// then the error is passed on, and the session dies by itself at its idle timeout).
Backend.prototype.logout = function () {
  var session = this.session();
  this.saveSession(null);
  if (!session) {
    return Promise.resolve();
  }
  return this.postSession('logout', { sessionId: session.sessionId })
    .then(function () {}, rethrow);
};

Backend.prototype.send = function (session, event) {
  var payload = JSON.stringify(Object.assign({ sid: session.sessionId }, event));
  var req = fcsign.invokeRequest({
    endpoint: this.config.endpoint,
    accountId: this.config.accountId,
    serviceName: this.config.serviceName,
    functionName: this.config.dbFunctionName,
    credentials: session.sts,
    body: payload,
    date: new Date(this.now())
  });
  return http.request(this.my, req).then(function (res) {
    var parsed = http.parseJson(res.data);
    var errorType = header(res.headers, 'x-fc-error-type');
    if (res.status !== 200 || errorType || !parsed) {
      throw res.status === 200 ?
        new BackendError('Internal', 'The function failed (' + (errorType || 'no JSON') + ')') :
        errorFrom(parsed, res.status);
    }
    if (!isObject(parsed) || !('data' in parsed || isObject(parsed.error))) {
      throw malformed('db function answer');
    }
    return parsed; // {data} or {error}: the db function answers errors as results
  });
};

// One db call (the event without `sid`): its `data`, or a rejection with {code, message}.
// `isData`, if given, checks the shape of a successful answer's `data`.
Backend.prototype.invoke = function (event, isData) {
  var self = this;
  var relogged = false;
  var refreshed = false;

  function attempt(session) {
    var ready = self.expiresSoon(session) ? self.refresh() : Promise.resolve(session);
    return ready.then(function (current) {
      return self.send(current, event);
    }).then(function (answer) {
      if (answer.error) {
        throw errorFrom(answer, 200);
      }
      if (isData && !isData(answer.data)) {
        throw malformed(event.op + ' answer');
      }
      return answer.data;
    }).catch(function (err) {
      if (SESSION_GONE[err.code] && !relogged) {
        relogged = true;
        self.saveSession(null);
        return self.login().then(attempt);
      }
      if (TOKEN_REJECTED[err.code] && !refreshed) {
        refreshed = true;
        return self.refresh().then(attempt);
      }
      throw err;
    });
  }
  return this.ensureSession().then(attempt).catch(rethrow);
};

Backend.prototype.todos = function (event) {
  return this.invoke(event, TODO_ANSWERS[event.op]);
};

// The v2 todo API.
Backend.prototype.listTodos = function (cursor, limit) {
  return this.todos({ v: 2, op: 'list', cursor: cursor || null, limit: limit || 20 });
};
Backend.prototype.addTodo = function (text, idempotencyKey) {
  return this.todos({ v: 2, op: 'add', text: text, idempotencyKey: idempotencyKey });
};
Backend.prototype.updateTodo = function (id, expectedVersion, changes) {
  return this.todos(Object.assign({ v: 2, op: 'update', id: id,
    expectedVersion: expectedVersion }, changes));
};
Backend.prototype.getTodo = function (id) {
  return this.todos({ v: 2, op: 'get', id: id });
};
Backend.prototype.removeTodo = function (id) {
  return this.todos({ v: 2, op: 'remove', id: id });
};
// {quota, used, granted}: the todos the user may hold (paid orders add `granted`), and holds.
Backend.prototype.todoQuota = function () {
  return this.todos({ v: 2, op: 'quota' });
};

Backend.prototype.orders = function (event) {
  return this.invoke(Object.assign({ v: 2, collection: 'orders' }, event), ORDER_ANSWERS[event.op]);
};

// The v2 orders API: the server prices the SKU and creates the Alipay trade; a client never
// sends an amount. `sync` asks Alipay how the trade stands and answers the order as it now is.
Backend.prototype.createOrder = function (sku, idempotencyKey) {
  return this.orders({ op: 'create', sku: sku, idempotencyKey: idempotencyKey });
};
Backend.prototype.syncOrder = function (id) {
  return this.orders({ op: 'sync', id: id });
};
Backend.prototype.getOrder = function (id) {
  return this.orders({ op: 'get', id: id });
};
Backend.prototype.listOrders = function (cursor, limit) {
  return this.orders({ op: 'list', cursor: cursor || null, limit: limit || 20 });
};

Backend.prototype.files = function (event) {
  return this.invoke(Object.assign({ v: 2, collection: 'files' }, event), FILE_ANSWERS[event.op]);
};

// The v2 files API: a ticket to post one file straight to OSS, the commit that checks what was
// stored, a signed URL to show it.
Backend.prototype.prepareUpload = function (name, contentType, size) {
  return this.files({ op: 'prepareUpload', name: name, contentType: contentType, size: size });
};
Backend.prototype.commitFile = function (fileId) {
  return this.files({ op: 'commit', fileId: fileId });
};
Backend.prototype.fileUrl = function (id) {
  return this.files({ op: 'url', id: id });
};
Backend.prototype.getFile = function (id) {
  return this.files({ op: 'get', id: id });
};
Backend.prototype.removeFile = function (id) {
  return this.files({ op: 'remove', id: id });
};

function createBackend(config, my, options) {
  ['accountId', 'region', 'serviceName', 'sessionFunctionName', 'dbFunctionName', 'endpoint']
    .forEach(function (key) {
      if (!config || typeof config[key] !== 'string' || !config[key]) {
        throw new Error('client config lacks "' + key + '" (run `make client-config`)');
      }
    });
  return new Backend(config, my, options);
}

module.exports = {
  createBackend: createBackend,
  Backend: Backend,
  BackendError: BackendError,
  newIdempotencyKey: newIdempotencyKey,
  sessionUrl: sessionUrl,
  STORAGE_KEY: STORAGE_KEY
};
