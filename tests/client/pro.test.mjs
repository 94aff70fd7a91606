// The Go Pro page (pages/pro) and lib/checkout.js against a backend in memory (fakecloud.mjs):
// every my.tradePay result code, a sync wherever money may have moved and nowhere else, Pro shown
// only for the server's paid order, one order however the taps and failures fall. No cloud
// needed; pro.cloud.test.mjs runs the flow against the local cloud's functions and cashier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { FakeBackend, offlinePhone } from './fakecloud.mjs';
import { LANGUAGE, S } from './support.mjs';

const require = createRequire(import.meta.url);
const checkout = require('../../client/lib/checkout.js');
const PRO = 'pages/pro/pro';

// The todo list, then the Go Pro link: the Pro page, loaded.
async function openPro(backend = new FakeBackend()) {
  const { phone, runtime } = offlinePhone(backend, LANGUAGE);
  const list = await runtime.openHome();
  list.goPro();
  await runtime.settle();
  const page = runtime.currentPage;
  assert.equal(page.route, PRO);
  return { backend, phone, runtime, page };
}

test('every result code has its outcome; a code Alipay adds is uncertain (synced)', () => {
  assert.deepEqual(checkout.OUTCOMES, {
    9000: 'paid', 8000: 'uncertain', 6004: 'uncertain', 6002: 'uncertain', 4000: 'failed', 6001: 'cancelled',
  });
  for (const code of ['5000', '99', '', 'undefined']) assert.equal(checkout.outcomeOf(code), 'uncertain');
});

test('the page says what Pro grants, in the phone\'s language, and offers Go Pro', async () => {
  const { phone, page, backend } = await openPro();
  assert.equal(page.data.state, 'free');
  assert.deepEqual(page.data.s, S.page('pro'));
  assert.ok(page.data.s.grant.length > 0);
  assert.equal(page.data.limit, S.t('pro.limit', { quota: 100, used: 0 }));
  assert.equal(phone.titles.at(-1), S.t('pro.title'));
  assert.deepEqual(backend.ops(), ['list'], 'nothing bought on arrival');
});

// Each result code: what the buyer does, whether the notify comes, what the page then shows.
const CODES = [
  { payAs: 'success', code: '9000', notifyLost: false, state: 'pro', syncs: 1 },
  { payAs: 'success', code: '9000', notifyLost: true, state: 'pro', syncs: 1 },
  { payAs: 'processing', code: '8000', notifyLost: true, state: 'pro', syncs: 1 },
  { payAs: 'unknown', code: '6004', notifyLost: true, state: 'pro', syncs: 1 },
  { payAs: 'network_error', code: '6002', notifyLost: false, state: 'pending', syncs: 1 },
  { payAs: 'fail', code: '4000', notifyLost: false, state: 'free', syncs: 0, notice: 'pro.failed' },
  { payAs: 'cancel', code: '6001', notifyLost: false, state: 'free', syncs: 0, notice: 'pro.cancelled' },
];

for (const { payAs, code, notifyLost, state, syncs, notice } of CODES) {
  test(`result ${code} (${payAs}${notifyLost ? ', notify lost' : ''}): ${state}, ${syncs} sync`, async () => {
    const backend = new FakeBackend();
    backend.notifyLost = notifyLost;
    const { phone, page } = await openPro(backend);
    phone.payAs = payAs;
    await page.goPro();
    assert.deepEqual(backend.ops(), ['list', 'create', ...Array(syncs).fill('sync')]);
    assert.equal(phone.payments.length, 1);
    assert.equal(phone.payments[0], backend.orders[0].tradeNo, 'my.tradePay got the order\'s tradeNo');
    assert.equal(page.data.state, state);
    assert.equal(page.data.busy, false);
    assert.equal(page.data.price, S.t('pro.price', { amount: '9.90' }));
    if (state === 'pro') {
      assert.equal(backend.orders[0].status, 'PAID');
      assert.equal(page.data.limit, S.t('pro.limitWithPro', { quota: 1100, granted: 1000, used: 0 }));
      assert.equal(phone.toasts.at(-1).content, S.t('pro.paid'));
      assert.equal(page.data.notice, '');
    } else if (state === 'pending') {
      assert.equal(page.data.notice, S.t('pro.pending'));
      assert.ok(!phone.toasts.some((t) => t.type === 'success'));
    } else {
      assert.equal(page.data.notice, S.t(notice));
      assert.equal(backend.orders[0].status, 'CREATED');
    }
    if (state !== 'pro') assert.equal(page.data.limit, S.t('pro.limit', { quota: 100, used: 0 }));
  });
}

test('pending: Check again syncs until the server has it paid', async () => {
  const backend = new FakeBackend();
  backend.notifyLost = true;
  backend.down.add('orders.sync'); // Alipay cannot be asked right after the payment
  const { phone, page } = await openPro(backend);
  phone.payAs = 'processing';
  await page.goPro();
  assert.equal(page.data.state, 'pending');
  assert.deepEqual(page.data.error, { code: 'UpstreamUnavailable', message: S.t('errors.UpstreamUnavailable') });
  backend.down.clear();
  await page.check();
  assert.equal(page.data.state, 'pro');
  assert.equal(page.data.error, null);
  assert.equal(phone.toasts.at(-1).content, S.t('pro.paid'));
  assert.deepEqual(backend.ops(), ['list', 'create', 'sync', 'sync']);
  assert.equal(backend.orders.length, 1);
});

test('cancelled, then Go Pro again pays the same order: one order, paid once', async () => {
  const { phone, page, backend } = await openPro();
  phone.payAs = 'cancel';
  await page.goPro();
  phone.payAs = 'success';
  await page.goPro();
  assert.equal(page.data.state, 'pro');
  assert.equal(backend.orders.length, 1);
  assert.deepEqual(phone.payments, [backend.orders[0].tradeNo, backend.orders[0].tradeNo]);
  assert.deepEqual(backend.ops(), ['list', 'create', 'get', 'sync']);
});

test('a cancelled order the reconciler closed meanwhile: Go Pro makes a new order', async () => {
  const { phone, page, backend } = await openPro();
  phone.payAs = 'cancel';
  await page.goPro();
  backend.close(backend.orders[0].id);
  phone.payAs = 'success';
  await page.goPro();
  assert.equal(page.data.state, 'pro');
  assert.deepEqual(backend.orders.map((o) => o.status), ['CLOSED', 'PAID']);
  assert.deepEqual(phone.payments, [backend.orders[0].tradeNo, backend.orders[1].tradeNo]);
});

test('failed (4000): the next Go Pro makes a new order, not the refused one', async () => {
  const { phone, page, backend } = await openPro();
  phone.payAs = 'fail';
  await page.goPro();
  phone.payAs = 'success';
  await page.goPro();
  assert.equal(backend.orders.length, 2);
  assert.deepEqual(backend.orders.map((o) => o.status), ['CREATED', 'PAID']);
  assert.equal(page.data.state, 'pro');
});

test('a create whose reply was lost: the retried tap sends the same key, one order', async () => {
  const { phone, page, backend } = await openPro();
  backend.lostReplies = 1;
  await page.goPro();
  assert.equal(page.data.error.code, 'NetworkError');
  assert.equal(page.data.error.message, S.t('errors.NetworkError'));
  assert.equal(phone.toasts.at(-1).type, 'fail');
  assert.equal(phone.payments.length, 0, 'no cashier without an order');
  assert.equal(page.data.state, 'free');
  await page.goPro();
  assert.equal(backend.orders.length, 1);
  assert.equal(page.data.state, 'pro');
  assert.deepEqual(backend.ops(), ['list', 'create', 'create', 'sync']);
});

test('an unknown SKU or a failed create shows the error and opens no cashier', async () => {
  const { phone, page, backend } = await openPro();
  backend.down.add('orders.create');
  await page.goPro();
  assert.equal(page.data.error.message, S.t('errors.UpstreamUnavailable'));
  assert.equal(phone.payments.length, 0);
  assert.equal(backend.orders.length, 0);
});

test('a double tap while paying pays once', async () => {
  const { phone, page, backend } = await openPro();
  await Promise.all([page.goPro(), page.goPro()]);
  assert.equal(phone.payments.length, 1);
  assert.equal(backend.orders.length, 1);
  assert.equal(page.data.state, 'pro');
});

test('on arrival: Pro when the server has a paid order; an open one paid meanwhile is synced', async () => {
  const backend = new FakeBackend();
  backend.notifyLost = true;
  // An earlier visit: created and paid (8000), then the app was closed before any sync.
  const first = await openPro(backend);
  first.phone.payAs = 'processing';
  await first.page.checkout.payableOrder();
  backend.cashier(backend.orders[0].tradeNo, 'processing');
  assert.equal(backend.orders[0].status, 'CREATED');

  const again = await openPro(backend);
  assert.equal(again.page.data.state, 'pro');
  assert.equal(backend.orders[0].status, 'PAID');
  assert.equal(again.page.data.limit, S.t('pro.limitWithPro', { quota: 1100, granted: 1000, used: 0 }));
  assert.ok(!again.phone.toasts.some((t) => t.type === 'success'), 'no toast for an old payment');
  // And a third visit just lists.
  const calls = backend.calls.length;
  const third = await openPro(backend);
  assert.equal(third.page.data.state, 'pro');
  assert.deepEqual(backend.calls.slice(calls).filter((c) => c.collection === 'orders').map((c) => c.op), ['list']);
});

test('on arrival: an open order not paid is offered, and Go Pro pays it', async () => {
  const backend = new FakeBackend();
  const first = await openPro(backend);
  first.phone.payAs = 'cancel';
  await first.page.goPro();
  const again = await openPro(backend);
  assert.equal(again.page.data.state, 'free');
  assert.equal(again.page.data.notice, '');
  assert.equal(again.page.data.price, S.t('pro.price', { amount: '9.90' }));
  await again.page.goPro();
  assert.equal(again.page.data.state, 'pro');
  assert.equal(backend.orders.length, 1);
});

test('QuotaExceeded on Add offers Go Pro, which opens the Pro page', async () => {
  const backend = new FakeBackend();
  backend.baseQuota = 0;
  const { runtime, phone } = offlinePhone(backend, LANGUAGE);
  const list = await runtime.openHome();
  list.addTodo();
  await runtime.settle();
  const add = runtime.currentPage;
  add.onInput({ detail: { value: 'one too many' } });
  await add.add();
  assert.deepEqual(add.data.error, { code: 'QuotaExceeded', message: S.t('errors.QuotaExceeded') });
  add.goPro();
  await runtime.settle();
  assert.equal(runtime.currentPage.route, PRO);
  assert.deepEqual(phone.navigations.at(-1), ['navigateTo', '/pages/pro/pro']);
});
