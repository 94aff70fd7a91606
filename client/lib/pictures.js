// A todo's picture: picked with my.chooseImage, uploaded straight to OSS and named by the todo.
//
//   1. my.chooseImage (one picture); its exact size (the ticket allows that size only) from
//      `tempFiles` or my.getFileInfo, its type from my.getImageInfo;
//   2. `{"op": "prepareUpload", "name", "contentType", "size"}` -> a ticket {fileId, url,
//      formData, fileField, expiresAt};
//   3. my.uploadFile posts formData and the file (as fileField) to url: OSS's PostObject;
//   4. `{"op": "commit", "fileId"}`: the server checks the stored object and answers the file
//      item (repeatable: a commit whose reply was lost is sent again);
//   5. the todo's `picture` is set to the file's id. Setting another, or null, or removing the
//      todo removes the file on the server.
//
// Thumbnails are shown by signed URLs (`{"op": "url", "id"}`, valid up to 15 minutes), kept
// until a minute before they expire.
var URL_MARGIN_MS = 60 * 1000;
// What my.getImageInfo's `type` (or the path's extension) says -> the content type declared;
// the files collection takes these four.
var TYPES = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif',
  webp: 'image/webp' };
var EXTENSIONS = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/gif': 'gif', 'image/webp': 'webp' };

function PictureError(code, message) {
  this.code = code;
  this.message = message;
}

// my.* calls with success/fail callbacks as promises; `fail` rejects with {code, message}.
function call(my, name, options, code) {
  return new Promise(function (resolve, reject) {
    my[name](Object.assign({}, options, {
      success: resolve,
      fail: function (res) {
        reject(new PictureError(code, name + ' failed' +
          (res && res.errorMessage ? ' (' + res.errorMessage + ')' : '')));
      }
    }));
  });
}

function typeOf(name) {
  var match = /\.?([A-Za-z0-9]+)$/.exec(String(name || ''));
  return match ? TYPES[match[1].toLowerCase()] : undefined;
}

// The picture the user picks: {path, size, contentType, name}, or null when they cancel.
function choose(my) {
  return new Promise(function (resolve, reject) {
    my.chooseImage({
      count: 1,
      sourceType: ['album', 'camera'],
      success: resolve,
      fail: function (res) {
        // Alipay's chooseImage fails with error 11 when the user backs out: not an error.
        if (res && res.error === 11) {
          resolve(null);
          return;
        }
        reject(new PictureError('PictureNotChosen', 'chooseImage failed' +
          (res && res.errorMessage ? ' (' + res.errorMessage + ')' : '')));
      }
    });
  }).then(function (res) {
    if (!res) {
      return null;
    }
    var file = res.tempFiles && res.tempFiles[0];
    var path = file && file.path || res.tempFilePaths && res.tempFilePaths[0] ||
      res.apFilePaths && res.apFilePaths[0];
    if (!path) {
      return null; // nothing picked
    }
    var size = file && typeof file.size === 'number' ? Promise.resolve(file.size) :
      call(my, 'getFileInfo', { apFilePath: path }, 'PictureUnreadable')
        .then(function (info) { return info.size; });
    var type = call(my, 'getImageInfo', { src: path }, 'PictureUnreadable')
      .then(function (info) { return TYPES[String(info.type || '').toLowerCase()] || typeOf(path); },
        function () { return typeOf(path); });
    return Promise.all([size, type]).then(function (found) {
      var contentType = found[1] || 'image/jpeg'; // what the camera and album give
      return { path: path, size: found[0], contentType: contentType,
        name: 'picture.' + EXTENSIONS[contentType] };
    });
  });
}

// Posts the file with the ticket's form (OSS PostObject). Any 2xx is stored; base libraries that
// call `success` for every status are held to the status too.
function upload(my, ticket, picture) {
  return new Promise(function (resolve, reject) {
    my.uploadFile({
      url: ticket.url,
      fileType: 'image',
      fileName: ticket.fileField,
      filePath: picture.path,
      formData: ticket.formData,
      success: function (res) {
        var status = Number(res && (res.statusCode || res.status));
        if (status >= 200 && status < 300) {
          resolve();
          return;
        }
        reject(new PictureError('UploadFailed', 'the upload was refused (HTTP ' + status + ')'));
      },
      fail: function (res) {
        reject(new PictureError('UploadFailed', 'the upload failed' +
          (res && res.errorMessage ? ' (' + res.errorMessage + ')' : '')));
      }
    });
  });
}

// Picks, uploads and commits a picture: the file item, or null when the user picked none.
function pickAndUpload(backend, my) {
  return choose(my).then(function (picture) {
    if (!picture) {
      return null;
    }
    return backend.prepareUpload(picture.name, picture.contentType, picture.size)
      .then(function (ticket) {
        return upload(my, ticket, picture).then(function () {
          return backend.commitFile(ticket.fileId).then(null, function (err) {
            // A commit is repeatable: one whose answer was lost (or met a busy store) is sent
            // again once before the user hears of it.
            if (err.code === 'NetworkError' || err.code === 'UpstreamUnavailable') {
              return backend.commitFile(ticket.fileId);
            }
            throw err;
          });
        });
      });
  });
}

// Signed URLs by file id, fetched when missing or about to expire.
function Thumbnails(backend, now) {
  this.backend = backend;
  this.now = now || function () { return Date.now(); };
  this.urls = {};
}

Thumbnails.prototype.url = function (id) {
  var self = this;
  var kept = this.urls[id];
  if (kept && kept.expiresAt - this.now() > URL_MARGIN_MS) {
    return Promise.resolve(kept.url);
  }
  return this.backend.fileUrl(id).then(function (answer) {
    self.urls[id] = { url: answer.url, expiresAt: Number(answer.expiresAt) };
    return answer.url;
  });
};

Thumbnails.prototype.forget = function (id) {
  delete this.urls[id];
};

module.exports = {
  choose: choose,
  upload: upload,
  pickAndUpload: pickAndUpload,
  Thumbnails: Thumbnails,
  PictureError: PictureError
};
