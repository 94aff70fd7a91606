// Base64 of bytes, for the FC signature. The mini program runtime has no `Buffer` and `btoa` is not
// guaranteed, and this is an encoding (a table lookup), not a hash: the two hashes come from the
// vendored libraries. tests/client checks it against Node's Buffer.
var ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

// bytes: an array (or Uint8Array) of integers 0-255.
function encodeBytes(bytes) {
  var out = '';
  for (var i = 0; i < bytes.length; i += 3) {
    var a = bytes[i];
    var b = i + 1 < bytes.length ? bytes[i + 1] : 0;
    var c = i + 2 < bytes.length ? bytes[i + 2] : 0;
    var triple = (a << 16) | (b << 8) | c;
    out += ALPHABET.charAt((triple >> 18) & 63) + ALPHABET.charAt((triple >> 12) & 63);
    out += i + 1 < bytes.length ? ALPHABET.charAt((triple >> 6) & 63) : '=';
    out += i + 2 < bytes.length ? ALPHABET.charAt(triple & 63) : '=';
  }
  return out;
}

// An ASCII string (e.g. a hex digest) as base64 of its bytes.
function encodeAscii(text) {
  var bytes = [];
  for (var i = 0; i < text.length; i++) {
    var code = text.charCodeAt(i);
    if (code > 127) {
      throw new Error('encodeAscii: not an ASCII string');
    }
    bytes.push(code);
  }
  return encodeBytes(bytes);
}

module.exports = { encodeBytes: encodeBytes, encodeAscii: encodeAscii };
