// The todo list: the user's todos in the order the API returns them (creation order), a page at
// a time as the list scrolls. Handler names follow the 2020 client (onLoad, onShow, onTodoChanged,
// addTodo, removeTodo) so its users find their way. A todo may carry one picture (lib/pictures.js),
// shown as a thumbnail by its signed URL. Handlers return their promise: the runtime ignores it,
// tests await it.
var pictures = require('../../lib/pictures.js');

var PAGE_SIZE = 20;

// A todo as shown; `thumb` is filled in once its picture's signed URL is known.
function view(todo) {
  return { id: todo.id, text: todo.text, completed: todo.completed,
    picture: todo.picture || null, thumb: '' };
}

Page({
  data: {
    todos: [],        // [{id, text, completed, picture, thumb}]
    picturing: null,  // the id of the todo whose picture is being changed
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
    this.thumbnails = new pictures.Thumbnails(getApp().backend);
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
      return self.showThumbs(page.items);
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
      return self.showThumbs(page.items);
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

  // -- pictures ---------------------------------------------------------------------------------
  // The picture button of a todo without one: e.target.dataset.id.
  addPicture: function (e) {
    return this.changePicture(e.target.dataset.id);
  },

  // A thumbnail tapped: view, replace or remove the picture.
  pictureActions: function (e) {
    var id = e.target.dataset.id;
    var self = this;
    var s = this.data.s;
    return new Promise(function (resolve) {
      my.showActionSheet({
        items: [s.viewPicture, s.replacePicture, s.removePicture],
        cancelButtonText: s.cancel,
        success: resolve,
        fail: function () { resolve({ index: -1 }); }
      });
    }).then(function (res) {
      if (res.index === 0) {
        var shown = self.shown(id);
        if (shown && shown.thumb) {
          my.previewImage({ urls: [shown.thumb] });
        }
        return null;
      }
      if (res.index === 1) {
        return self.changePicture(id);
      }
      if (res.index === 2) {
        return self.removePicture(id);
      }
      return null;
    });
  },

  // Picks and uploads a picture, then names it on the todo (the server removes the one it
  // replaces). A file committed for a todo that could not take it is removed again.
  changePicture: function (id) {
    if (this.data.picturing) {
      return Promise.resolve();
    }
    var self = this;
    var backend = this.backend();
    this.setData({ picturing: id });
    return pictures.pickAndUpload(backend, my).then(function (file) {
      if (!file) {
        return null; // the user picked none
      }
      return self.setPicture(id, file.id).then(null, function (err) {
        // The todo took none: remove the file again (if that fails too, the user's file list
        // still has it, and removing it there frees the bytes), then tell the user.
        var rethrow = function () { throw err; };
        return backend.removeFile(file.id).then(rethrow, rethrow);
      });
    }).then(function () {
      self.setData({ picturing: null });
    }, function (err) {
      self.setData({ picturing: null });
      self.pictureFailed(id, err);
    });
  },

  removePicture: function (id) {
    if (this.data.picturing) {
      return Promise.resolve();
    }
    var self = this;
    this.setData({ picturing: id });
    return this.setPicture(id, null).then(function () {
      self.setData({ picturing: null });
      my.showToast({ type: 'success', content: self.i18n.t('todos.pictureRemoved') });
    }, function (err) {
      self.setData({ picturing: null });
      self.pictureFailed(id, err);
    });
  },

  // Sets (or, with null, drops) the todo's picture; a Conflict (changed elsewhere) reads the todo
  // again and tries once more with its new version.
  setPicture: function (id, fileId) {
    var self = this;
    var backend = this.backend();
    var update = function () {
      return backend.updateTodo(id, self.versions[id], { picture: fileId });
    };
    return update().then(null, function (err) {
      if (err.code !== 'Conflict') {
        throw err;
      }
      return backend.getTodo(id).then(function (todo) {
        self.versions[id] = todo.version;
        return update();
      });
    }).then(function (todo) {
      var before = self.shown(id);
      if (before && before.picture && before.picture !== todo.picture) {
        self.thumbnails.forget(before.picture);
      }
      self.replace(todo);
      return self.showThumbs([todo]);
    });
  },

  pictureFailed: function (id, err) {
    if (err.code === 'NotFound') {
      my.showToast({ type: 'none', content: this.i18n.t('todos.removedElsewhere') });
      this.drop(id);
      return;
    }
    my.showToast({ type: 'fail', content: this.i18n.errorMessage(err) });
  },

  // Thumbnails for the todos with a picture: their signed URLs (a failed one stays blank, and
  // the next load asks again).
  showThumbs: function (todos) {
    var self = this;
    return Promise.all(todos.filter(function (todo) { return todo.picture; }).map(function (todo) {
      return self.thumbnails.url(todo.picture).then(function (url) {
        self.setData({ todos: self.data.todos.map(function (shown) {
          return shown.id === todo.id && shown.picture === todo.picture ?
            Object.assign({}, shown, { thumb: url }) : shown;
        }) });
      }, function () {});
    }));
  },

  shown: function (id) {
    return this.data.todos.filter(function (todo) { return todo.id === id; })[0] || null;
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
      var fresh = view(todo);
      if (shown.id === todo.id && shown.picture === fresh.picture) {
        fresh.thumb = shown.thumb; // the same picture: keep its thumbnail
      }
      return shown.id === todo.id ? fresh : shown;
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
