// The client's FC signer (client/lib/fcsign.js, run in the mini program runtime stand-in) against
// the official @alicloud/fc2 on the same inputs and against Node's crypto. What the local FC
// answers to the requests it signs (accepted, or each refusal the mini program can meet) is
// tests/contract/test_fc.py's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import FC from '@alicloud/fc2';
import { FakeMy } from './my.mjs';
import { CLIENT_DIR, MiniProgramRuntime } from './runtime.mjs';

const require = createRequire(import.meta.url);
const helper = require('@alicloud/fc2/lib/helper.js');

const runtime = new MiniProgramRuntime({ phone: new FakeMy({ alipaySandbox: 'http://127.0.0.1:9' }) });
const fcsign = runtime.loadFile(path.join(CLIENT_DIR, 'lib', 'fcsign.js'));
const base64 = runtime.loadFile(path.join(CLIENT_DIR, 'lib', 'base64.js'));

const BODIES = ['', '{}', '{"v":2,"op":"add","text":"buy milk"}', '买牛奶 🥛 ünïcödé',
  'x'.repeat(70000)];

test('base64 of bytes matches Buffer for every length and byte value', () => {
  for (let length = 0; length < 70; length++) {
    const bytes = crypto.randomBytes(length);
    assert.equal(base64.encodeBytes(Array.from(bytes)), bytes.toString('base64'));
  }
  const all = Array.from({ length: 256 }, (_, i) => i);
  assert.equal(base64.encodeBytes(all), Buffer.from(all).toString('base64'));
});

test('Content-MD5 is what the Node SDK sends: base64 of the hex MD5 of the UTF-8 body', () => {
  for (const body of BODIES) {
    const hex = crypto.createHash('md5').update(Buffer.from(body, 'utf8')).digest('hex');
    assert.equal(fcsign.contentMd5(body), Buffer.from(hex, 'utf8').toString('base64'));
  }
});

test('the signature is HMAC-SHA256 in base64, as Node crypto computes it', () => {
  for (const text of BODIES) {
    for (const secret of ['s', 'k'.repeat(100), 'sécret-密钥']) {
      const expected = crypto.createHmac('sha256', secret).update(text, 'utf8').digest('base64');
      assert.equal(fcsign.signature(secret, text), expected);
    }
  }
});

test('string to sign and Authorization header equal the SDK\'s on the same inputs', () => {
  const headers = {
    accept: 'application/json', date: 'Sun, 29 Nov 2026 20:00:00 GMT', host: 'x',
    'content-type': 'application/octet-stream', 'content-md5': 'abc=',
    'x-fc-account-id': '1234', 'x-fc-security-token': 'tok/+=', 'X-Fc-Invocation-Type': 'Sync',
    'x-fc-log-type': 'Tail',
  };
  const paths = ['/2016-08-15/services/miniapp-todo/functions/db/invocations',
    '/2016-08-15/services/miniapp-todo.LATEST/functions/db/invocations'];
  for (const p of paths) {
    assert.equal(fcsign.stringToSign('POST', p, headers, null),
      helper.composeStringToSign('POST', p, headers, null));
    assert.equal(fcsign.authorization('STS.id', 'secret', 'POST', p, headers, null),
      FC.getSignature('STS.id', 'secret', 'POST', p, headers, null));
  }
  // HTTP trigger paths sign their queries (sorted key=value lines), also when there are none.
  const proxy = '/2016-08-15/proxy/miniapp-todo/session/refresh';
  for (const queries of [{}, { b: '2', a: '1 x' }]) {
    assert.equal(fcsign.stringToSign('POST', proxy, headers, queries),
      helper.composeStringToSign('POST', proxy, headers, queries));
  }
});

// The SDK's whole request, captured by a loopback server, against the client's for the same
// credentials, event and Date.
async function captureSdkRequest(options) {
  let captured;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      captured = { method: req.method, url: req.url, headers: req.headers, body };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":null}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = new FC(options.accountId, {
      accessKeyID: options.credentials.AccessKeyId,
      accessKeySecret: options.credentials.AccessKeySecret,
      securityToken: options.credentials.SecurityToken,
      region: 'cn-hangzhou', endpoint: `http://127.0.0.1:${server.address().port}`,
    });
    await client.invokeFunction(options.serviceName, options.functionName, options.body);
  } finally {
    server.close();
  }
  return captured;
}

test('an InvokeFunction request is signed exactly as @alicloud/fc2 signs it', async () => {
  for (const body of BODIES.slice(0, 4)) {
    const options = {
      accountId: '1234567890123456', serviceName: 'miniapp-todo', functionName: 'db', body,
      credentials: { AccessKeyId: 'STS.abc', AccessKeySecret: 'secret', SecurityToken: 'CAIS+/=tok' },
    };
    const sdk = await captureSdkRequest(options);
    const ours = fcsign.invokeRequest({ ...options, endpoint: 'https://x.example',
      date: new Date(sdk.headers.date) });
    assert.equal(ours.url, 'https://x.example' + sdk.url);
    assert.equal(ours.method, sdk.method);
    assert.equal(ours.data, sdk.body);
    for (const name of ['authorization', 'content-md5', 'content-type', 'date', 'x-fc-account-id',
      'x-fc-security-token']) {
      assert.equal(ours.headers[name], sdk.headers[name], name);
    }
    // Everything signed is sent the same: no x-fc-* header of one is missing in the other.
    const fcHeaders = (h) => Object.keys(h).filter((k) => k.startsWith('x-fc-')).sort();
    assert.deepEqual(fcHeaders(ours.headers), fcHeaders(sdk.headers));
  }
});
