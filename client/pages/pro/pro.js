// Go Pro: what Pro grants, and buying it (lib/checkout.js: the server's order, my.tradePay, a sync
// wherever money may have moved). The page shows Pro only when the server has a paid order;
// whatever the cashier said, an unsettled outcome leaves a "Check again" that syncs the order.
// Handlers return their promise: the runtime ignores it, tests await it.
var checkout = require('../../lib/checkout.js');

var SKU = 'pro';
var GRANTED = { PAID: true, PARTIALLY_REFUNDED: true }; // a paid order's grant stays
var PAGE_SIZE = 50;

function view(order) {
  return order ? { id: order.id, amount: order.amount, status: order.status } : null;
}

Page({
  data: {
    state: 'loading', // 'loading' | 'free' | 'pending' (paid or not is not known yet) | 'pro'
    busy: false,      // a payment or a check is under way
    order: null,      // {id, amount, status} of the order being paid
    price: '',        // its amount, for the user
    limit: '',        // the user's todo limit (and what Pro added), for the user
    notice: '',       // what the last attempt came to, in the user's words
    error: null,      // {code, message} of the last failure
    s: {}             // this page's strings in the user's language (lib/i18n)
  },

  onLoad: function () {
    this.i18n = getApp().i18n;
    this.checkout = new checkout.Checkout(getApp().backend, my, SKU);
    this.setData({ s: this.i18n.page('pro') });
    my.setNavigationBar({ title: this.i18n.t('pro.title') });
  },

  onShow: function () {
    if (this.data.busy) {
      return Promise.resolve(); // back from the cashier: the payment under way settles the page
    }
    return this.refresh();
  },

  // Pro if the server holds a paid order; an earlier visit's order still CREATED (the app closed
  // while the cashier was open, say) is synced: it may have been paid since. The todo limit is
  // shown beside it.
  refresh: function () {
    var self = this;
    this.setData({ error: null });
    var orders = this.findOrders(null, null).then(function (found) {
      if (found.paid) {
        return self.settle(found.paid, null);
      }
      if (!found.open) {
        self.setData({ state: 'free' });
        return null;
      }
      self.checkout.resume(found.open);
      return self.checkout.sync().then(function (order) {
        return self.show(order, false);
      }, function (err) {
        self.show(found.open, false);
        self.setData({ error: self.i18n.error(err) });
      });
    }, function (err) {
      self.setData({ state: self.data.state === 'loading' ? 'free' : self.data.state,
        error: self.i18n.error(err) });
    });
    return orders.then(function () {
      return self.showLimit(); // after a sync that may have applied a grant
    });
  },

  // The user's todo limit, as the server counts it (a paid order's grant included); left as it
  // was when it cannot be read.
  showLimit: function () {
    var self = this;
    return getApp().backend.todoQuota().then(function (usage) {
      self.setData({ limit: self.i18n.t(usage.granted > 0 ? 'pro.limitWithPro' : 'pro.limit', usage) });
    }, function () {});
  },

  // The user's Pro orders, a page at a time (newest first): the first paid one, else the newest
  // still open.
  findOrders: function (cursor, open) {
    var self = this;
    return getApp().backend.listOrders(cursor, PAGE_SIZE).then(function (page) {
      var paid = null;
      page.items.forEach(function (order) {
        if (order.sku !== SKU) {
          return;
        }
        if (GRANTED[order.status] && !paid) {
          paid = order;
        } else if (order.status === 'CREATED' && !open) {
          open = order;
        }
      });
      if (paid || !page.cursor) {
        return { paid: paid, open: open };
      }
      return self.findOrders(page.cursor, open);
    });
  },

  // The "Go Pro" button.
  goPro: function () {
    if (this.data.busy || this.data.state === 'pro') {
      return Promise.resolve(); // a double tap while the cashier is on its way
    }
    var self = this;
    this.setData({ busy: true, notice: '', error: null });
    return this.checkout.pay().then(function (result) {
      self.setData({ busy: false });
      return self.outcome(result);
    }, function (err) {
      // No order to pay (the create or the re-read failed): nothing was paid.
      var error = self.i18n.error(err);
      self.setData({ busy: false, error: error });
      my.showToast({ type: 'fail', content: error.message });
    });
  },

  // The "Check again" button, while an outcome is pending.
  check: function () {
    if (this.data.busy || !this.checkout.order) {
      return Promise.resolve();
    }
    var self = this;
    this.setData({ busy: true, error: null });
    return this.checkout.sync().then(function (order) {
      self.setData({ busy: false });
      return self.show(order, true);
    }, function (err) {
      self.setData({ busy: false, error: self.i18n.error(err) });
    });
  },

  // What a payment attempt came to: the server's order decides; the result code only says
  // what to tell the user while the order is not settled.
  outcome: function (result) {
    if (result.outcome === 'cancelled' || result.outcome === 'failed') {
      this.setData({ state: 'free', order: view(result.order), price: this.price(result.order),
        notice: this.i18n.t('pro.' + result.outcome) });
      return null;
    }
    if (result.error) {
      this.setData({ error: this.i18n.error(result.error) });
    }
    return this.show(result.order, true);
  },

  // The order as the server has it; `paying`: right after a payment or a check the user asked
  // for (an order still CREATED then is a payment not yet known; found on arrival, it is one the
  // user may still pay, and Go Pro pays it).
  show: function (order, paying) {
    if (GRANTED[order.status]) {
      return this.settle(order, paying ? 'pro.paid' : null);
    }
    if (order.status === 'CREATED' && !paying) {
      this.setData({ state: 'free', order: view(order), price: this.price(order), notice: '' });
    } else if (order.status === 'CREATED') {
      this.setData({ state: 'pending', order: view(order), price: this.price(order),
        notice: this.i18n.t('pro.pending') });
    } else {
      // CLOSED or REFUNDED: nothing to wait for; the next Go Pro makes a new order.
      this.setData({ state: 'free', order: null, price: '', notice: this.i18n.t('pro.closed') });
    }
    return null;
  },

  settle: function (order, toast) {
    this.setData({ state: 'pro', order: view(order), price: this.price(order),
      notice: '', error: null });
    if (toast) {
      my.showToast({ type: 'success', content: this.i18n.t(toast) });
      return this.showLimit(); // what Pro just added
    }
    return null;
  },

  price: function (order) {
    return order ? this.i18n.t('pro.price', { amount: order.amount }) : '';
  }
});
