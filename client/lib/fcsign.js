// Function Compute request signing for the mini program: the signature `@alicloud/fc2` computes
// (lib/client.js `request` and lib/helper.js `composeStringToSign`), without Node's crypto/Buffer.
//
// String to sign: METHOD, Content-MD5, Content-Type and Date, one per line, then every `x-fc-*`
// header as `name:value\n` (lower-case names, sorted), then the unescaped path. HMAC-SHA256 with
// the AccessKeySecret, base64; header `authorization: FC {AccessKeyId}:{signature}`.
//
// Like the Node SDK, the Content-MD5 of a body is the base64 of the *hex* MD5 digest of its UTF-8
// bytes (`Buffer.from(md5hex, 'utf8').toString('base64')`), and a string event is sent as
// `application/octet-stream`; the headers are the SDK's, so both produce the same signature on the
// same inputs (tests/client/signer.test.mjs checks it).
var sha256 = require('./vendor/js-sha256.js');
var md5 = require('./vendor/blueimp-md5.js');
var base64 = require('./base64.js');

var API_VERSION = '2016-08-15';

function contentMd5(body) {
  return base64.encodeAscii(md5(body));
}

function canonicalFcHeaders(headers) {
  var names = [];
  var values = {};
  Object.keys(headers).forEach(function (key) {
    var lower = key.toLowerCase().trim();
    if (lower.indexOf('x-fc-') === 0) {
      names.push(lower);
      values[lower] = headers[key];
    }
  });
  names.sort();
  return names.map(function (name) { return name + ':' + values[name] + '\n'; }).join('');
}

// headers: lower-case names, as the SDK builds them. queries: only for HTTP trigger paths (the
// SDK signs them there and nowhere else); an object of string values.
function stringToSign(method, path, headers, queries) {
  var text = method + '\n' + (headers['content-md5'] || '') + '\n' +
    (headers['content-type'] || '') + '\n' + headers['date'] + '\n' +
    canonicalFcHeaders(headers) + path;
  if (queries) {
    var params = Object.keys(queries).map(function (key) { return key + '=' + queries[key]; });
    params.sort();
    text += '\n' + params.join('\n');
  }
  return text;
}

function signature(accessKeySecret, text) {
  return base64.encodeBytes(sha256.hmac.array(accessKeySecret, text));
}

function authorization(accessKeyId, accessKeySecret, method, path, headers, queries) {
  var text = stringToSign(method, path, headers, queries);
  return 'FC ' + accessKeyId + ':' + signature(accessKeySecret, text);
}

// The InvokeFunction request (synchronous) for `my.request`: {url, method, headers, data}.
// credentials: the session's STS object {AccessKeyId, AccessKeySecret, SecurityToken}.
// date: a Date (the caller's clock; injectable for tests).
function invokeRequest(options) {
  var path = '/' + API_VERSION + '/services/' + options.serviceName +
    (options.qualifier ? '.' + options.qualifier : '') +
    '/functions/' + options.functionName + '/invocations';
  var body = options.body;
  var creds = options.credentials;
  var headers = {
    accept: 'application/json',
    date: options.date.toUTCString(),
    'x-fc-account-id': options.accountId
  };
  if (body) { // as the SDK: an empty event has neither
    headers['content-type'] = 'application/octet-stream';
    headers['content-md5'] = contentMd5(body);
  }
  if (creds.SecurityToken) {
    headers['x-fc-security-token'] = creds.SecurityToken;
  }
  headers.authorization = authorization(creds.AccessKeyId, creds.AccessKeySecret, 'POST', path,
    headers, null);
  return { url: options.endpoint + path, method: 'POST', headers: headers, data: body };
}

module.exports = {
  API_VERSION: API_VERSION,
  contentMd5: contentMd5,
  stringToSign: stringToSign,
  signature: signature,
  authorization: authorization,
  invokeRequest: invokeRequest
};
