// A success answer of the wrong shape (a proxy, a captive portal, a server bug) reaches the
// pages as a {code, message} error, never as a TypeError, and is never stored. No cloud needed:
// `my.request` answers what each test scripts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { createBackend, BackendError, STORAGE_KEY } = require('../../client/lib/backend.js');

const CONFIG = {
  accountId: '1234567890123456', region: 'cn-hangzhou', serviceName: 'todo',
  sessionFunctionName: 'session', dbFunctionName: 'db', endpoint: 'http://127.0.0.1:9',
};
const STS = {
  AccessKeyId: 'STS.id', AccessKeySecret: 'secret', SecurityToken: 'token',
  Expiration: '2099-01-01T00:00:00Z',
};
const TODO = { id: '01JD3Q6X2P7N4K8M5R9T0V1W2Y', text: 'buy milk', completed: false, version: 1 };

// A `my` whose request answers 200 with `answer(url)` (a JSON value), and in-memory storage.
function phoneAnswering(answer) {
  const storage = new Map();
  return {
    storage,
    getAuthCode: (options) => options.success({ authCode: 'code', authSuccessScopes: ['auth_base'] }),
    request: (options) => options.success({ status: 200, data: JSON.stringify(answer(options.url)), headers: {} }),
    getStorageSync: ({ key }) => ({ data: storage.get(key) }),
    setStorageSync: ({ key, data }) => storage.set(key, structuredClone(data)),
    removeStorageSync: ({ key }) => storage.delete(key),
  };
}

async function assertMalformed(promise) {
  const err = await promise.then(() => assert.fail('resolved'), (e) => e);
  assert.ok(err instanceof BackendError, `${err?.constructor?.name}: ${err?.message}`);
  assert.equal(err.code, 'Internal');
  assert.match(err.message, /wrong shape/);
}

const BAD_LOGINS = {
  'no sessionId': { sts: STS },
  'a number for sessionId': { sessionId: 5, sts: STS },
  'no sts': { sessionId: 'sid' },
  'sts without Expiration': { sessionId: 'sid', sts: { ...STS, Expiration: undefined } },
  'an Expiration that is no date': { sessionId: 'sid', sts: { ...STS, Expiration: 'soon' } },
  'sts as a string': { sessionId: 'sid', sts: 'STS.id' },
  'a JSON string': 'sid',
  'a JSON array': [{ sessionId: 'sid', sts: STS }],
};

for (const [name, body] of Object.entries(BAD_LOGINS)) {
  test(`a 200 login answer with ${name} is an Internal error and no session`, async () => {
    const my = phoneAnswering(() => body);
    await assertMalformed(createBackend(CONFIG, my).login());
    assert.equal(my.storage.has(STORAGE_KEY), false);
  });
}

test('a 200 refresh answer without credentials is an error and keeps the stored session', async () => {
  const my = phoneAnswering(() => ({ ok: true }));
  const session = { sessionId: 'sid', sts: STS };
  my.storage.set(STORAGE_KEY, session);
  await assertMalformed(createBackend(CONFIG, my).refresh());
  assert.deepEqual(my.storage.get(STORAGE_KEY), session);
});

test('a 200 logout answer of the wrong shape is an error, and the session is forgotten', async () => {
  const my = phoneAnswering(() => ({ sts: STS }));
  my.storage.set(STORAGE_KEY, { sessionId: 'sid', sts: STS });
  await assertMalformed(createBackend(CONFIG, my).logout());
  assert.equal(my.storage.has(STORAGE_KEY), false);
});

const BAD_DB_ANSWERS = {
  'neither data nor error': { ok: true },
  'a number': 5,
  'a list page without items': { data: { cursor: null } },
  'a list page whose items are not todos': { data: { items: [{ id: 1 }], cursor: null } },
  'a list page with a numeric cursor': { data: { items: [TODO], cursor: 7 } },
};

for (const [name, body] of Object.entries(BAD_DB_ANSWERS)) {
  test(`a db answer of ${name} is an Internal error`, async () => {
    const my = phoneAnswering(() => body);
    my.storage.set(STORAGE_KEY, { sessionId: 'sid', sts: STS });
    await assertMalformed(createBackend(CONFIG, my).listTodos());
  });
}

test('an add answered with something other than a todo is an Internal error', async () => {
  const my = phoneAnswering(() => ({ data: { id: TODO.id } }));
  my.storage.set(STORAGE_KEY, { sessionId: 'sid', sts: STS });
  await assertMalformed(createBackend(CONFIG, my).addTodo('buy milk', 'k-1'));
});

test('well-shaped answers still pass', async () => {
  const my = phoneAnswering((url) => (url.endsWith('/session/') ? { sessionId: 'sid', sts: STS }
    : { data: { items: [TODO], cursor: null } }));
  const backend = createBackend(CONFIG, my);
  assert.deepEqual(await backend.login(), { sessionId: 'sid', sts: STS });
  assert.deepEqual(await backend.listTodos(), { items: [TODO], cursor: null });
});

const ORDER = { id: 'order-1', sku: 'pro', amount: '0.01', status: 'CREATED', tradeNo: '2026000001' };
const BAD_ORDERS = {
  'an amount as a number (a float is never money)': { ...ORDER, amount: 0.01 },
  'an amount with one decimal': { ...ORDER, amount: '0.1' },
  'no tradeNo (nothing to pay)': { ...ORDER, tradeNo: undefined },
  'an unknown status': { ...ORDER, status: 'SETTLED' },
  'no id': { ...ORDER, id: '' },
};

for (const [name, order] of Object.entries(BAD_ORDERS)) {
  test(`an orders create answered with ${name} is an Internal error`, async () => {
    const my = phoneAnswering(() => ({ data: order }));
    my.storage.set(STORAGE_KEY, { sessionId: 'sid', sts: STS });
    await assertMalformed(createBackend(CONFIG, my).createOrder('pro', 'k-1'));
  });
}

test('an orders list whose items are not orders is an Internal error; a good order passes', async () => {
  const bad = phoneAnswering(() => ({ data: { items: [TODO], cursor: null } }));
  bad.storage.set(STORAGE_KEY, { sessionId: 'sid', sts: STS });
  await assertMalformed(createBackend(CONFIG, bad).listOrders());
  const sent = [];
  const good = phoneAnswering(() => ({ data: ORDER }));
  const request = good.request;
  good.request = (options) => { sent.push(JSON.parse(options.data)); request(options); };
  good.storage.set(STORAGE_KEY, { sessionId: 'sid', sts: STS });
  const backend = createBackend(CONFIG, good);
  assert.deepEqual(await backend.createOrder('pro', 'k-1'), ORDER);
  assert.deepEqual(await backend.syncOrder('order-1'), ORDER);
  assert.deepEqual(sent.map(({ sid, ...event }) => event), [
    { v: 2, collection: 'orders', op: 'create', sku: 'pro', idempotencyKey: 'k-1' },
    { v: 2, collection: 'orders', op: 'sync', id: 'order-1' },
  ]);
});
