// The todo list: the user's todos in the order the API returns them (creation order), a page at
// a time as the list scrolls. Handler names follow the 2020 client (onLoad, onShow, onTodoChanged,
// addTodo, removeTodo) so its users find their way. Handlers return their promise: the runtime
// ignores it, tests await it.
var PAGE_SIZE = 20;

function view(todo) {
  return { id: todo.id, text: todo.text, completed: todo.completed };
}

Page({
  data: {
    todos: [],        // [{id, text, completed}]
    loading: false,   // the first page is loading
    loadingMore: false,
    hasMore: false,   // the API gave a cursor: there is more to load
    error: null,      // {code, message} of the last failed load, shown with a retry
    signedOut: false,
    s: {}             // this page's strings in the user's language (lib/i18n)
  },

  onLoad: function () {
    this.i18n = getApp().i18n;
    this.setData({ s: this.i18n.page('todos') });
    my.setNavigationBar({ title: this.i18n.t('todos.title') });
    this.versions = {};  // id -> version, for update's expectedVersion (not shown)
    this.cursor = null;
    this.loadSeq = 0;    // a newer load makes an older one's answer stale
    this.failed = null;  // which load to retry: 'reload' or 'more'
  },

  onShow: function () {
    // Back from add-todo (or from the background): show the list as the server has it.
    return this.reload();
  },

  backend: function () {
    return getApp().backend;
  },

  reload: function () {
    var self = this;
    var seq = ++this.loadSeq;
    this.setData({ loading: true, error: null, signedOut: false });
    return this.backend().listTodos(null, PAGE_SIZE).then(function (page) {
      if (seq !== self.loadSeq) {
        return;
      }
      self.versions = {};
      self.remember(page.items);
      self.cursor = page.cursor;
      self.setData({ todos: page.items.map(view), loading: false, hasMore: !!page.cursor });
    }, function (err) {
      if (seq === self.loadSeq) {
        self.fail('reload', err, { loading: false });
      }
    });
  },

  onReachBottom: function () {
    if (!this.cursor || this.data.loading || this.data.loadingMore) {
      return Promise.resolve();
    }
    var self = this;
    var seq = this.loadSeq;
    this.setData({ loadingMore: true, error: null });
    return this.backend().listTodos(this.cursor, PAGE_SIZE).then(function (page) {
      if (seq !== self.loadSeq) {
        return;
      }
      self.remember(page.items);
      self.cursor = page.cursor;
      self.setData({ todos: self.data.todos.concat(page.items.map(view)), loadingMore: false,
        hasMore: !!page.cursor });
    }, function (err) {
      if (seq === self.loadSeq) {
        self.fail('more', err, { loadingMore: false });
      }
    });
  },

  retry: function () {
    return this.failed === 'more' ? this.onReachBottom() : this.reload();
  },

  // checkbox-group onChange: e.detail.value is the array of checked todo ids.
  onTodoChanged: function (e) {
    var checked = {};
    (e.detail.value || []).forEach(function (id) { checked[id] = true; });
    var self = this;
    var changes = this.data.todos.filter(function (todo) {
      return !!checked[todo.id] !== todo.completed;
    }).map(function (todo) {
      return self.setCompleted(todo.id, !!checked[todo.id]);
    });
    return Promise.all(changes);
  },

  setCompleted: function (id, completed) {
    var self = this;
    return this.backend().updateTodo(id, this.versions[id], { completed: completed })
      .then(function (todo) {
        self.replace(todo);
      }, function (err) {
        if (err.code === 'Conflict') {
          // Changed elsewhere since this list was loaded: show it as it is now.
          my.showToast({ type: 'none', content: self.i18n.t('todos.changedElsewhere') });
          return self.reloadTodo(id);
        }
        if (err.code === 'NotFound') {
          my.showToast({ type: 'none', content: self.i18n.t('todos.removedElsewhere') });
          self.drop(id);
          return;
        }
        my.showToast({ type: 'fail', content: self.i18n.errorMessage(err) });
        self.setData({ todos: self.data.todos.slice() }); // re-render: the box shows the old state
      });
  },

  reloadTodo: function (id) {
    var self = this;
    return this.backend().getTodo(id).then(function (todo) {
      self.replace(todo);
    }, function (err) {
      if (err.code === 'NotFound') {
        self.drop(id);
        return;
      }
      my.showToast({ type: 'fail', content: self.i18n.errorMessage(err) });
    });
  },

  addTodo: function () {
    my.navigateTo({ url: '/pages/add-todo/add-todo' });
  },

  goPro: function () {
    my.navigateTo({ url: '/pages/pro/pro' });
  },

  // The remove button: e.target.dataset.id.
  removeTodo: function (e) {
    var id = e.target.dataset.id;
    var self = this;
    return this.backend().removeTodo(id).then(function () {
      self.drop(id);
    }, function (err) {
      if (err.code === 'NotFound') { // already gone (a retried remove, or another device)
        self.drop(id);
        return;
      }
      my.showToast({ type: 'fail', content: self.i18n.errorMessage(err) });
    });
  },

  logout: function () {
    var self = this;
    this.loadSeq++;
    this.cursor = null;
    this.versions = {};
    this.setData({ todos: [], hasMore: false, error: null, signedOut: true });
    return this.backend().logout().then(function () {
      my.showToast({ type: 'success', content: self.i18n.t('todos.signedOutToast') });
    }, function (err) {
      my.showToast({ type: 'fail', content: self.i18n.errorMessage(err) });
    });
  },

  // -- helpers ----------------------------------------------------------------------------------
  remember: function (items) {
    var versions = this.versions;
    items.forEach(function (todo) { versions[todo.id] = todo.version; });
  },

  replace: function (todo) {
    this.versions[todo.id] = todo.version;
    this.setData({ todos: this.data.todos.map(function (shown) {
      return shown.id === todo.id ? view(todo) : shown;
    }) });
  },

  drop: function (id) {
    delete this.versions[id];
    this.setData({ todos: this.data.todos.filter(function (todo) { return todo.id !== id; }) });
  },

  fail: function (which, err, data) {
    this.failed = which;
    data.error = this.i18n.error(err);
    this.setData(data);
  }
});
