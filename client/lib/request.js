// `my.request` as a promise of {status, data, headers}, whatever the base library does with an
// HTTP error: older versions call `success` for any status, newer ones call `fail` with
// `error: 19` and the response's `status`/`data`/`headers`. Only a request that got no answer at
// all (no network, a time-out, a domain not whitelisted) rejects, with {code: 'NetworkError'}.
function request(my, options) {
  return new Promise(function (resolve, reject) {
    my.request({
      url: options.url,
      method: options.method || 'POST',
      headers: options.headers,
      data: options.data,
      dataType: 'text', // the body is parsed here: an error body is JSON, an FC one may not be
      timeout: options.timeout || 30000,
      success: function (res) {
        resolve({ status: res.status, data: res.data, headers: res.headers || {} });
      },
      fail: function (res) {
        if (res && typeof res.status === 'number' && res.status > 0) {
          resolve({ status: res.status, data: res.data, headers: res.headers || {} });
          return;
        }
        var detail = res && (res.errorMessage || res.error);
        reject({ code: 'NetworkError', message: 'The network request failed' +
          (detail ? ' (' + detail + ')' : '') + '. Check the connection and try again.' });
      }
    });
  });
}

// The answer's body as JSON, or undefined when it is not JSON.
function parseJson(data) {
  if (typeof data !== 'string') {
    return data; // already parsed by a runtime that ignored dataType
  }
  try {
    return JSON.parse(data);
  } catch (e) {
    return undefined;
  }
}

module.exports = { request: request, parseJson: parseJson };
