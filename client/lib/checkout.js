// Buying a SKU: the server creates the order and its Alipay trade (and prices it: a client never
// sends an amount), the buyer pays in Alipay's cashier with `my.tradePay({tradeNO})`, and the
// page believes only the server. my.tradePay's result code says what the app saw, not what
// Alipay booked, so wherever money may have moved (9000, 8000, 6004, 6002, or a code Alipay may
// add) the order is synced: `{"op": "sync", "id"}` asks Alipay (trade.query) and answers the order
// as it now stands. Only a `PAID` order from the server means paid.
var lib = require('./backend.js');

// my.tradePay's result codes, as Alipay documents them.
var OUTCOMES = {
  '9000': 'paid',       // paid, as the app saw it: confirmed by a sync before anything is shown
  '8000': 'uncertain',  // processing: it may have been paid
  '6004': 'uncertain',  // result unknown: it may have been paid
  '6002': 'uncertain',  // network error with the cashier open: it may have been paid
  '4000': 'failed',     // payment failed: nothing paid
  '6001': 'cancelled'   // the buyer backed out: nothing paid, the trade can still be paid
};
var SYNCED = { paid: true, uncertain: true };

// The outcome of a result code; any other code is uncertain (so the order is synced).
function outcomeOf(resultCode) {
  return OUTCOMES[resultCode] || 'uncertain';
}

// my.tradePay as a promise of its result code (a string). A `fail` callback (the cashier did not
// open, or the base library refused the call) resolves with its code, or '' when it has none:
// both are uncertain, and a sync finds out.
function tradePay(my, tradeNo) {
  return new Promise(function (resolve) {
    my.tradePay({
      tradeNO: tradeNo,
      success: function (res) { resolve(String(res && res.resultCode || '')); },
      fail: function (res) { resolve(String(res && res.resultCode || '')); }
    });
  });
}

// One buyer's checkout of one SKU, kept by a page across taps: the order being paid and the
// idempotency key of the create under way (kept until an order comes back, so a create retried
// after a lost reply never makes a second order).
function Checkout(backend, my, sku) {
  this.backend = backend;
  this.my = my;
  this.sku = sku;
  this.order = null;
  this.key = null;
}

// Takes up an order found elsewhere (an earlier visit's, still CREATED) to pay or sync it.
Checkout.prototype.resume = function (order) {
  this.order = order;
};

// The order to pay: the one kept, as the server has it now (the reconciler may have closed it,
// or a late notify paid it), or a new one.
Checkout.prototype.payableOrder = function () {
  var self = this;
  var kept = !this.order ? Promise.resolve(null) :
    this.backend.getOrder(this.order.id).then(null, function (err) {
      if (err.code === 'NotFound') {
        return null;
      }
      throw err;
    });
  return kept.then(function (order) {
    if (order && order.status !== 'CLOSED') {
      self.order = order;
      return order;
    }
    self.order = null;
    if (!self.key) {
      self.key = lib.newIdempotencyKey();
    }
    return self.backend.createOrder(self.sku, self.key).then(function (created) {
      self.key = null;
      self.order = created;
      return created;
    });
  });
};

// Asks the server (and through it Alipay) how the kept order stands.
Checkout.prototype.sync = function () {
  var self = this;
  return this.backend.syncOrder(this.order.id).then(function (order) {
    self.order = order;
    return order;
  });
};

// Pays: resolves with {resultCode, outcome, order, error}. `order` is the server's (synced where
// money may have moved); `error` ({code, message}) when that sync failed, with the order as last
// known; `resultCode` is null when the order was already settled and nothing was paid. Rejects
// only when no order could be had (the create or the re-read failed).
Checkout.prototype.pay = function () {
  var self = this;
  return this.payableOrder().then(function (order) {
    if (order.status !== 'CREATED') {
      return { resultCode: null, outcome: 'settled', order: order, error: null };
    }
    return tradePay(self.my, order.tradeNo).then(function (resultCode) {
      var outcome = outcomeOf(resultCode);
      var result = { resultCode: resultCode, outcome: outcome, order: order, error: null };
      if (outcome === 'failed') {
        self.order = null; // Alipay refused this trade: the next attempt makes a new order
      }
      if (!SYNCED[outcome]) {
        return result;
      }
      return self.sync().then(function (synced) {
        result.order = synced;
        return result;
      }, function (err) {
        result.error = err;
        return result;
      });
    });
  });
};

module.exports = {
  Checkout: Checkout,
  tradePay: tradePay,
  outcomeOf: outcomeOf,
  OUTCOMES: OUTCOMES
};
