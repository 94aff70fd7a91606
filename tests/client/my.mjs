// The `my` object the tests give the mini program: the few Alipay APIs the client uses, each
// shaped as Alipay documents it (object arguments, success/fail callbacks), doing the real thing
// where there is one here:
// - getAuthCode mints a code at the local Alipay sandbox (`POST {alipaySandbox}/auth_code` with
//   the phone's user id), which answers the my.getAuthCode result shape;
// - request goes to the local cloud with fetch; an HTTP status outside 2xx calls `fail` with
//   `error: 19` and the response (as newer base libraries do); no answer at all is `error: 12`;
// - storage is in memory, holding copies (as the real storage holds serialised data);
// - tradePay pays at the local Alipay sandbox's cashier (`POST {alipaySandbox}/pay` with the
//   trade, the phone's user and `payAs`, what the buyer does: success, processing, unknown, fail,
//   cancel, network_error), which answers the my.tradePay result shape `{resultCode, memo}`;
// - the album holds the pictures a test puts there (`pick(bytes, type)`): chooseImage picks the
//   next one (none left: the user backs out, `error: 11`) with Alipay's `apFilePaths`, and
//   `tempFiles` unless `oldBaseLibrary`; getFileInfo and getImageInfo read it; uploadFile posts it
//   as multipart/form-data (formData's fields, then the file under `fileName`) with fetch;
//   showActionSheet answers `sheetChoice`; previewImage is recorded;
// - getSystemInfoSync answers the phone's language setting (`language`, as Alipay names it);
// - showToast, setNavigationBar, navigateTo and navigateBack are recorded; navigation drives the
//   runtime's stack.
export function newUserId() {
  let digits = '';
  for (let i = 0; i < 12; i++) digits += Math.floor(Math.random() * 10);
  return '2088' + digits;
}

export class FakeMy {
  constructor({ alipaySandbox, userId = newUserId(), language = 'zh-Hans' }) {
    this.alipaySandbox = alipaySandbox;
    this.userId = userId;
    this.language = language;
    this.titles = [];        // every navigation bar title set, in order
    this.payAs = 'success';  // what the buyer does in the cashier
    this.payments = [];      // every tradeNO my.tradePay was given
    this.album = [];         // paths chooseImage picks next, in order
    this.localFiles = new Map(); // path -> {bytes (Uint8Array), type ('png', 'jpeg', ...)}
    this.oldBaseLibrary = false; // chooseImage answers apFilePaths only (sizes from getFileInfo)
    this.uploads = [];       // {url, fields, fileField, status} of every my.uploadFile
    this.sheetChoice = -1;   // the action sheet item the user taps (-1: cancel)
    this.sheets = [];        // the items of every action sheet shown
    this.previews = [];      // the urls of every previewImage
    this.storage = new Map();
    this.authCodes = 0;      // how many times the app asked for an auth code (= logins started)
    this.requests = [];      // {url, method, status} of every my.request
    this.toasts = [];
    this.navigations = [];   // ['navigateTo', url] | ['navigateBack']
    this.runtime = null;
    this.api = this.build();
  }

  attach(runtime) {
    this.runtime = runtime;
  }

  // Puts a picture in the album; chooseImage picks it next. Answers its local path, named as
  // Alipay names them (no file extension to go by).
  pick(bytes, type = 'png') {
    const path = `https://resource/apml${this.localFiles.size + 1}${Math.random().toString(16).slice(2, 10)}.image`;
    this.localFiles.set(path, { bytes: new Uint8Array(bytes), type });
    this.album.push(path);
    return path;
  }

  // my.uploadFile's far end: posts the form (formData's fields in order, the file last).
  async postForm(options, file) {
    const form = new FormData();
    for (const [key, value] of Object.entries(options.formData || {})) form.append(key, value);
    form.append(options.fileName, new Blob([file.bytes], { type: `image/${file.type}` }), 'picture');
    const resp = await fetch(options.url, { method: 'POST', body: form });
    return { statusCode: resp.status, data: await resp.text(), header: Object.fromEntries(resp.headers) };
  }

  build() {
    const self = this;
    return {
      getAuthCode(options) {
        self.authCodes += 1;
        fetch(self.alipaySandbox + '/auth_code', {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user_id: self.userId }),
        }).then(async (resp) => {
          const body = await resp.json();
          if (!resp.ok) throw new Error(JSON.stringify(body));
          options.success?.(body);
        }).catch((err) => options.fail?.({ error: 11, errorMessage: String(err) }));
      },

      request(options) {
        const record = { url: options.url, method: options.method || 'GET', status: null };
        self.requests.push(record);
        let body = options.data;
        if (body !== undefined && typeof body !== 'string') body = JSON.stringify(body);
        fetch(options.url, {
          method: record.method,
          headers: { 'content-type': 'application/json', ...(options.headers || {}) },
          body,
          signal: AbortSignal.timeout(options.timeout || 30000),
        }).then(async (resp) => {
          const text = await resp.text();
          record.status = resp.status;
          const res = {
            status: resp.status,
            headers: Object.fromEntries(resp.headers),
            data: options.dataType === 'text' ? text : safeJson(text),
          };
          if (resp.status >= 200 && resp.status < 300) options.success?.(res);
          else options.fail?.({ error: 19, errorMessage: 'http status error', ...res });
        }, (err) => {
          record.status = 'no answer';
          options.fail?.({ error: 12, errorMessage: 'network error: ' + err.message });
        });
      },

      tradePay(options) {
        self.payments.push(options.tradeNO);
        fetch(self.alipaySandbox + '/pay', {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ tradeNo: options.tradeNO, user_id: self.userId, result: self.payAs }),
        }).then(async (resp) => {
          const body = await resp.json();
          if (!resp.ok) throw new Error(JSON.stringify(body));
          options.success?.(body);
        }).catch((err) => options.fail?.({ error: 3, errorMessage: String(err) }));
      },

      chooseImage(options) {
        const path = self.album.shift();
        setTimeout(() => {
          if (!path) {
            options.fail?.({ error: 11, errorMessage: 'user cancelled' });
            return;
          }
          const res = { apFilePaths: [path] };
          if (!self.oldBaseLibrary) {
            res.tempFilePaths = [path];
            res.tempFiles = [{ path, size: self.localFiles.get(path).bytes.length }];
          }
          options.success?.(res);
        }, 0);
      },
      getFileInfo({ apFilePath, success, fail }) {
        const file = self.localFiles.get(apFilePath);
        setTimeout(() => (file ? success?.({ size: file.bytes.length, digest: '' })
          : fail?.({ error: 12, errorMessage: 'no such file' })), 0);
      },
      getImageInfo({ src, success, fail }) {
        const file = self.localFiles.get(src);
        setTimeout(() => (file ? success?.({ width: 1, height: 1, path: src, type: file.type, orientation: 'up' })
          : fail?.({ error: 12, errorMessage: 'no such image' })), 0);
      },
      uploadFile(options) {
        const record = { url: options.url, fields: { ...options.formData }, fileField: options.fileName, status: null };
        self.uploads.push(record);
        const file = self.localFiles.get(options.filePath);
        self.postForm(options, file).then((res) => {
          record.status = res.statusCode;
          options.success?.(res);
        }, (err) => {
          record.status = 'no answer';
          options.fail?.({ error: 12, errorMessage: String(err) });
        });
      },
      showActionSheet(options) {
        self.sheets.push([...options.items]); // copies: the app's arrays are of its own realm
        setTimeout(() => options.success?.({ index: self.sheetChoice }), 0);
      },
      previewImage(options) {
        self.previews.push([...options.urls]);
      },

      setStorageSync({ key, data }) {
        self.storage.set(key, JSON.stringify(data));
      },
      getStorageSync({ key }) {
        return { data: self.storage.has(key) ? JSON.parse(self.storage.get(key)) : null };
      },
      removeStorageSync({ key }) {
        self.storage.delete(key);
      },

      getSystemInfoSync() {
        return { language: self.language, platform: 'Android', app: 'alipay' };
      },

      showToast(options) {
        self.toasts.push(options);
      },
      setNavigationBar(options) {
        self.titles.push(options.title);
        options.success?.({});
      },
      navigateTo({ url }) {
        self.navigations.push(['navigateTo', url]);
        self.runtime?.navigateTo(url);
      },
      navigateBack(options = {}) {
        self.navigations.push(['navigateBack']);
        self.runtime?.navigateBack(options.delta || 1);
      },
    };
  }

  // The session the client keeps in storage (or null).
  session() {
    const stored = this.storage.get('miniapp.session');
    return stored ? JSON.parse(stored) : null;
  }
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
