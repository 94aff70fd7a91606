// A backend in memory, for page tests that need no cloud: what the session and db functions
// answer (issue 22's orders contract, issue 23's files contract, the todos the pages use) and what
// Alipay's cashier and OSS do, behind a `my` whose request, getAuthCode, tradePay and uploadFile
// reach it instead of the network. The
// client code runs unchanged (runtime.mjs); only the far end is scripted. Tests against the local
// cloud (pages.test.mjs, pro.cloud.test.mjs) check the same pages against the real functions.
import { FakeMy } from './my.mjs';
import { CLIENT_DIR, MiniProgramRuntime } from './runtime.mjs';
import path from 'node:path';

const STS = {
  AccessKeyId: 'STS.fake', AccessKeySecret: 'secret', SecurityToken: 'token',
  Expiration: '2099-01-01T00:00:00Z',
};
const PRICES = { pro: '9.90' }; // the demo catalog's (shared/miniapp/catalog.py)
const GRANT = 1000;               // todos a paid pro order adds

// What the buyer does in the cashier -> the result code my.tradePay answers, and whether money
// moves (as the local Alipay sandbox's cashier plays it).
export const CASHIER = {
  success: { resultCode: '9000', pays: true },
  processing: { resultCode: '8000', pays: true },
  unknown: { resultCode: '6004', pays: true },
  fail: { resultCode: '4000', pays: false },
  cancel: { resultCode: '6001', pays: false },
  network_error: { resultCode: '6002', pays: false },
};

class Refusal extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class FakeBackend {
  constructor() {
    this.orders = [];          // {id, sku, amount, status, tradeNo, key}
    this.trades = new Map();   // tradeNo -> {paid, closed}
    this.calls = [];           // {collection, op} of every db call, in order
    this.notifyLost = false;   // a paid trade's notify never arrives: only a sync completes it
    this.down = new Set();     // ops answering UpstreamUnavailable ('orders.sync', ...)
    this.lostReplies = 0;      // the next n db calls run, then the answer is lost
    this.baseQuota = 100;      // todos a user may hold before Pro
    this.todos = [];
    this.tickets = new Map();  // fileId -> the declaration prepareUpload was given
    this.uploaded = new Map(); // fileId -> {bytes, type}: what was posted with a ticket
    this.files = new Map();    // fileId -> the committed file item
    this.objects = new Map();  // fileId -> bytes: the committed files' objects
    this.rejectUploads = false; // OSS refuses the form (403)
    this.seq = 0;
  }

  static id(prefix, seq) {
    return `${prefix}-${String(seq).padStart(4, '0')}`;
  }

  // my.request's far end: {status, data (a JSON string)} or null for an answer lost.
  answer(url, body) {
    if (/\/invocations$/.test(url)) {
      const event = JSON.parse(body);
      const collection = event.collection || 'todos';
      this.calls.push({ collection, op: event.op });
      let reply;
      try {
        if (this.down.has(`${collection}.${event.op}`)) {
          throw new Refusal('UpstreamUnavailable', 'Alipay did not answer');
        }
        const handlers = { orders: 'order', files: 'file', todos: 'todo' };
        reply = { data: this[handlers[collection]](event) };
      } catch (err) {
        if (!(err instanceof Refusal)) throw err;
        reply = { error: { code: err.code, message: err.message } };
      }
      if (this.lostReplies > 0) {
        this.lostReplies -= 1;
        return null;
      }
      return { status: 200, data: JSON.stringify(reply) };
    }
    if (url.endsWith('/refresh')) return { status: 200, data: JSON.stringify({ sts: STS }) };
    return { status: 200, data: JSON.stringify({ sessionId: 'fake-session', sts: STS }) };
  }

  order(event) {
    if (event.op === 'create') {
      if (!PRICES[event.sku]) throw new Refusal('InvalidRequest', 'unknown sku');
      const again = this.orders.find((o) => o.key === event.idempotencyKey);
      if (again) return this.item(again);
      const seq = String(++this.seq).padStart(4, '0');
      const order = { id: FakeBackend.id('order', seq), sku: event.sku, amount: PRICES[event.sku],
        status: 'CREATED', tradeNo: `2026${seq}`, key: event.idempotencyKey };
      this.orders.push(order);
      this.trades.set(order.tradeNo, { paid: false, closed: false });
      return this.item(order);
    }
    if (event.op === 'list') return { items: this.orders.map((o) => this.item(o)), cursor: null };
    const order = this.orders.find((o) => o.id === event.id);
    if (!order) throw new Refusal('NotFound', 'no such order');
    if (event.op === 'sync') {
      const trade = this.trades.get(order.tradeNo);
      if (trade.paid && order.status === 'CREATED') order.status = 'PAID';
      if (trade.closed && order.status === 'CREATED') order.status = 'CLOSED';
    }
    return this.item(order);
  }

  item(order) {
    const { key, ...item } = order;
    return { ...item };
  }

  todo(event) {
    if (event.op === 'list') return { items: this.todos.map((t) => ({ ...t })), cursor: null };
    if (event.op === 'quota') return this.usage();
    if (event.op === 'add') {
      if (this.todos.length >= this.usage().quota) throw new Refusal('QuotaExceeded', 'item quota exceeded');
      const todo = { id: FakeBackend.id('todo', ++this.seq), text: event.text, completed: false,
        picture: null, version: 1 };
      this.todos.push(todo);
      return { ...todo };
    }
    const todo = this.todos.find((t) => t.id === event.id);
    if (!todo) throw new Refusal('NotFound', 'no such item');
    if (event.op === 'get') return { ...todo };
    if (event.op === 'remove') {
      this.todos = this.todos.filter((t) => t !== todo);
      if (todo.picture) this.dropFile(todo.picture);
      return null;
    }
    if (event.op === 'update') {
      if (event.expectedVersion !== todo.version) throw new Refusal('Conflict', 'stale version');
      if ('picture' in event && event.picture !== todo.picture) {
        if (event.picture !== null && !this.files.has(event.picture)) {
          throw new Refusal('InvalidRequest', "'picture' names no file of this user");
        }
        if (todo.picture) this.dropFile(todo.picture); // the file it replaces goes
        todo.picture = event.picture;
      }
      for (const key of ['text', 'completed']) if (key in event) todo[key] = event[key];
      todo.version += 1;
      return { ...todo };
    }
    throw new Refusal('InvalidRequest', `the fake has no todos ${event.op}`);
  }

  // The todos quota op: a paid (or partly refunded) order grants GRANT more.
  usage() {
    const granted = GRANT * this.orders.filter((o) => ['PAID', 'PARTIALLY_REFUNDED'].includes(o.status)).length;
    return { quota: this.baseQuota + granted, used: this.todos.length, granted };
  }

  file(event) {
    if (event.op === 'prepareUpload') {
      if (!['image/jpeg', 'image/png', 'image/gif', 'image/webp'].includes(event.contentType)) {
        throw new Refusal('InvalidRequest', 'contentType');
      }
      const fileId = FakeBackend.id('file', ++this.seq);
      this.tickets.set(fileId, { name: event.name, contentType: event.contentType, size: event.size });
      return { fileId, url: 'https://bucket.oss.fake/', fileField: 'file', expiresAt: Date.now() + 600000,
        formData: { key: `uploads/user/${fileId}`, 'Content-Type': event.contentType, policy: 'p', Signature: 's' } };
    }
    if (event.op === 'commit') {
      const ticket = this.tickets.get(event.fileId);
      const upload = this.uploaded.get(event.fileId);
      if (!ticket || !upload) throw new Refusal('NotFound', 'no upload of this file');
      if (upload.bytes.length !== ticket.size) throw new Refusal('Conflict', 'the upload does not match its ticket');
      if (!this.files.has(event.fileId)) {
        this.files.set(event.fileId, { id: event.fileId, ...ticket, createdAt: Date.now() });
        this.objects.set(event.fileId, upload.bytes);
      }
      return { ...this.files.get(event.fileId) };
    }
    const file = this.files.get(event.id);
    if (!file) throw new Refusal('NotFound', 'no such item');
    if (event.op === 'url') {
      return { url: `https://bucket.oss.fake/files/user/${event.id}?Signature=${++this.seq}`,
        expiresAt: Date.now() + 900000 };
    }
    if (event.op === 'get') return { ...file };
    if (event.op === 'remove') {
      this.dropFile(event.id);
      return null;
    }
    throw new Refusal('InvalidRequest', `the fake has no files ${event.op}`);
  }

  dropFile(id) {
    this.files.delete(id);
    this.objects.delete(id);
  }

  // OSS's PostObject: the form posted with a ticket.
  postObject(fields, fileField, bytes) {
    if (this.rejectUploads) return { statusCode: 403, data: '<Error><Code>AccessDenied</Code></Error>' };
    const fileId = fields.key.split('/').pop();
    if (!this.tickets.has(fileId)) return { statusCode: 403, data: '<Error><Code>AccessDenied</Code></Error>' };
    this.uploaded.set(fileId, { bytes, fileField });
    return { statusCode: 200, data: '' };
  }

  // The cashier: the buyer does `result` for the trade; money moves as CASHIER says, and the
  // notify marks the order paid unless it is lost.
  cashier(tradeNo, result) {
    const { resultCode, pays } = CASHIER[result];
    const trade = this.trades.get(tradeNo);
    if (!trade || trade.paid || trade.closed) return { resultCode: '4000', memo: 'not payable' };
    if (pays) {
      trade.paid = true;
      const order = this.orders.find((o) => o.tradeNo === tradeNo);
      if (!this.notifyLost) order.status = 'PAID';
    }
    return { resultCode, memo: result };
  }

  // The reconciler closes an order that was never paid.
  close(id) {
    const order = this.orders.find((o) => o.id === id);
    this.trades.get(order.tradeNo).closed = true;
    order.status = 'CLOSED';
  }

  ops(collection = 'orders') {
    return this.calls.filter((c) => c.collection === collection).map((c) => c.op);
  }
}

// A phone whose far end is a FakeBackend; `payAs` says what the buyer does in the cashier.
export class OfflineMy extends FakeMy {
  constructor({ backend, language }) {
    super({ alipaySandbox: 'http://127.0.0.1:9', language });
    this.backend = backend;
    const api = this.api;
    const self = this;
    api.getAuthCode = (options) => {
      self.authCodes += 1;
      setTimeout(() => options.success({ authCode: 'fake-code', authSuccessScopes: ['auth_base'] }), 0);
    };
    api.request = (options) => {
      const record = { url: options.url, method: options.method, status: null };
      self.requests.push(record);
      setTimeout(() => {
        const res = backend.answer(options.url, options.data);
        if (!res) {
          record.status = 'no answer';
          options.fail({ error: 12, errorMessage: 'network error: the reply was lost' });
          return;
        }
        record.status = res.status;
        options.success({ ...res, headers: {} });
      }, 0);
    };
    this.postForm = async (options, file) => backend.postObject(options.formData, options.fileName, file.bytes);
    api.tradePay = (options) => {
      self.payments.push(options.tradeNO);
      setTimeout(() => options.success(backend.cashier(options.tradeNO, self.payAs)), 0);
    };
  }
}

// The mini program on a phone whose far end is `backend`.
export function offlinePhone(backend, language) {
  const phone = new OfflineMy({ backend, language });
  const runtime = new MiniProgramRuntime({
    phone, configFile: path.join(CLIENT_DIR, 'config.example.js'),
  }).launch();
  return { phone, runtime };
}
