// The Go Pro page against the local cloud: the db function's orders (create, list, get, sync)
// and todos quota, the local Alipay gateway's trades, and the sandbox cashier playing my.tradePay
// (my.mjs posts `{tradeNo, user_id, result}` to `{alipaySandbox}/pay`), for each result code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLOUDS, S, needsCloud, startPhone } from './support.mjs';

const skip = needsCloud;
const PRO = 'pages/pro/pro';

// A new user's phone on the Pro page (through the todo list's link), and their quota before.
async function onPro(userId) {
  const { phone, runtime, backend } = startPhone(CLOUDS.main, userId);
  const list = await runtime.openHome();
  list.goPro();
  await runtime.settle();
  const page = runtime.currentPage;
  assert.equal(page.route, PRO);
  return { phone, runtime, backend, page, before: await backend.todoQuota() };
}

// The user's orders, newest first (in an array of this realm: the app's are of its own).
async function ordersOf(backend) {
  return [...(await backend.listOrders(null, 100)).items];
}

const PAID = [['success', '9000'], ['processing', '8000'], ['unknown', '6004']];

for (const [payAs, code] of PAID) {
  test(`Go Pro, the cashier answering ${code}: the order is PAID and Pro's quota granted`, { skip }, async () => {
    const { phone, backend, page, before } = await onPro();
    assert.equal(page.data.state, 'free');
    assert.equal(page.data.limit, S.t('pro.limit', before));
    assert.equal(before.granted, 0);
    phone.payAs = payAs;
    await page.goPro();
    const [order] = await ordersOf(backend);
    assert.deepEqual(phone.payments, [order.tradeNo]);
    assert.equal(order.sku, 'pro');
    assert.equal(order.status, 'PAID');
    assert.match(order.amount, /^\d+\.\d\d$/);
    assert.equal(page.data.state, 'pro');
    assert.equal(page.data.price, S.t('pro.price', { amount: order.amount }));
    assert.equal(phone.toasts.at(-1).content, S.t('pro.paid'));
    const after = await backend.todoQuota();
    assert.ok(after.granted > 0 && after.quota === before.quota + after.granted, JSON.stringify(after));
    assert.equal(page.data.limit, S.t('pro.limitWithPro', after));
    // Another phone of the same user sees Pro on arrival, without paying.
    const other = await onPro(phone.userId);
    assert.equal(other.page.data.state, 'pro');
    assert.deepEqual(other.phone.payments, []);
  });
}

test('Go Pro, the cashier answering 6001 (cancelled), then paying: one order, PAID', { skip }, async () => {
  const { phone, backend, page, before } = await onPro();
  phone.payAs = 'cancel';
  await page.goPro();
  assert.equal(page.data.state, 'free');
  assert.equal(page.data.notice, S.t('pro.cancelled'));
  let orders = await ordersOf(backend);
  assert.deepEqual(orders.map((o) => o.status), ['CREATED']);
  assert.equal((await backend.todoQuota()).granted, 0);
  phone.payAs = 'success';
  await page.goPro();
  orders = await ordersOf(backend);
  assert.deepEqual(orders.map((o) => o.status), ['PAID']);
  assert.deepEqual(phone.payments, [orders[0].tradeNo, orders[0].tradeNo], 'the same trade, paid the second time');
  assert.equal(page.data.state, 'pro');
  assert.ok((await backend.todoQuota()).quota > before.quota);
});

test('Go Pro, the cashier answering 4000 (failed): nothing paid; the next Go Pro is a new order', { skip }, async () => {
  const { phone, backend, page } = await onPro();
  phone.payAs = 'fail';
  await page.goPro();
  assert.equal(page.data.state, 'free');
  assert.equal(page.data.notice, S.t('pro.failed'));
  assert.deepEqual((await ordersOf(backend)).map((o) => o.status), ['CREATED']);
  phone.payAs = 'success';
  await page.goPro();
  const orders = await ordersOf(backend); // newest first
  assert.deepEqual(orders.map((o) => o.status), ['PAID', 'CREATED']);
  assert.equal(page.data.state, 'pro');
});

test('Go Pro, the cashier answering 6002 (network error): synced, still unpaid, Check again; then paid', { skip }, async () => {
  const { phone, backend, page } = await onPro();
  phone.payAs = 'network_error';
  await page.goPro();
  assert.equal(page.data.state, 'pending');
  assert.equal(page.data.notice, S.t('pro.pending'));
  assert.equal(page.data.error, null);
  await page.check(); // "Check again": Alipay still has it unpaid
  assert.equal(page.data.state, 'pending');
  assert.deepEqual((await ordersOf(backend)).map((o) => o.status), ['CREATED']);
  phone.payAs = 'success';
  await page.goPro();
  const orders = await ordersOf(backend);
  assert.deepEqual(orders.map((o) => o.status), ['PAID']);
  assert.equal(page.data.state, 'pro');
});
