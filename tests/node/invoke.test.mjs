// Contract test: the official Node SDK (@alicloud/fc2) against the local Function Compute.
// tests/contract/test_fc_node.py starts the emulator and runs `node --test` here with the
// endpoint, account and keys in the environment; without them every test is skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import FC from '@alicloud/fc2';

const env = process.env;
const skip = env.FC_ENDPOINT ? false : 'FC_ENDPOINT is not set (run through test_fc_node.py)';

function client(keys = {}) {
  return new FC(env.FC_ACCOUNT_ID, {
    accessKeyID: keys.id ?? env.FC_ACCESS_KEY_ID,
    accessKeySecret: keys.secret ?? env.FC_ACCESS_KEY_SECRET,
    securityToken: keys.token,
    region: env.FC_REGION,
    endpoint: env.FC_ENDPOINT,
    timeout: 20000,
  });
}

test('invokes a function and gets its bytes back', { skip }, async () => {
  const res = await client().invokeFunction(env.FC_SERVICE, env.FC_FUNCTION, 'hello from node');
  assert.equal(res.data, 'hello from node');
  assert.ok(res.headers['x-fc-request-id']);
});

test('invokes a qualified service', { skip }, async () => {
  const res = await client().invokeFunction(env.FC_SERVICE, env.FC_FUNCTION, 'q', {}, 'LATEST');
  assert.equal(res.data, 'q');
});

test('an unhandled error comes back with x-fc-error-type', { skip }, async () => {
  const res = await client().invokeFunction(env.FC_SERVICE, env.FC_ERROR_FUNCTION, 'node');
  assert.equal(res.headers['x-fc-error-type'], 'UnhandledInvocationError');
  assert.equal(res.data.errorMessage, 'boom: node');
  assert.equal(res.data.errorType, 'ValueError');
});

test('a wrong secret is refused with SignatureNotMatch', { skip }, async () => {
  await assert.rejects(
    client({ secret: 'not-the-secret' }).invokeFunction(env.FC_SERVICE, env.FC_FUNCTION, 'x'),
    (err) => err.code === 'SignatureNotMatch',
  );
});

test('STS credentials work within their policy and are denied outside it', { skip }, async () => {
  const sts = client({ id: env.FC_STS_KEY_ID, secret: env.FC_STS_KEY_SECRET,
                       token: env.FC_STS_TOKEN });
  const res = await sts.invokeFunction(env.FC_SERVICE, env.FC_FUNCTION, 'sts');
  assert.equal(res.data, 'sts');
  await assert.rejects(
    sts.invokeFunction(env.FC_SERVICE, env.FC_ERROR_FUNCTION, 'x'),
    (err) => err.code === 'AccessDenied',
  );
});
