// Add a todo. One idempotency key per text the user means to add: a retried tap (after a time-out
// or an error whose outcome is unknown) sends the same key, so the server never creates two.
var lib = require('../../lib/backend.js');

Page({
  data: {
    inputValue: '',
    adding: false,
    error: null, // {code, message} of the last failed add
    s: {}        // this page's strings in the user's language (lib/i18n)
  },

  onLoad: function () {
    this.i18n = getApp().i18n;
    this.setData({ s: this.i18n.page('addTodo') });
    my.setNavigationBar({ title: this.i18n.t('addTodo.title') });
    this.draft = null; // {text, key}: the key stays while the text does
  },

  onInput: function (e) {
    this.setData({ inputValue: e.detail.value, error: null });
  },

  add: function () {
    var text = this.data.inputValue;
    if (!text || !text.trim()) {
      my.showToast({ type: 'none', content: this.i18n.t('addTodo.typeFirst') });
      return Promise.resolve();
    }
    if (this.data.adding) {
      return Promise.resolve(); // a double tap while the first is on its way
    }
    if (!this.draft || this.draft.text !== text) {
      this.draft = { text: text, key: lib.newIdempotencyKey() };
    }
    var self = this;
    this.setData({ adding: true, error: null });
    return getApp().backend.addTodo(text, this.draft.key).then(function () {
      self.draft = null;
      self.setData({ adding: false, inputValue: '' });
      my.navigateBack();
    }, function (err) {
      var error = self.i18n.error(err);
      self.setData({ adding: false, error: error });
      my.showToast({ type: 'fail', content: error.message });
    });
  },

  // Shown with QuotaExceeded: Pro raises the limit.
  goPro: function () {
    my.navigateTo({ url: '/pages/pro/pro' });
  }
});
