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
