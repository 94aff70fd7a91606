// A stand-in for the Alipay mini program runtime, enough to run client/ unchanged under Node:
//
// - the app's and pages' .js files run in a fresh V8 context (node:vm) whose globals are the
//   ECMAScript built-ins plus what a mini program has: App, Page, getApp, my, console,
//   setTimeout/clearTimeout. No process, Buffer, TextEncoder, fetch or require of anything but
//   the mini program's own files: code that reaches for Node fails here as it would on a phone;
// - `require` is CommonJS over the files under client/ (relative paths, `.js` optional); every
//   specifier is recorded, and a bare one (`crypto`, `buffer`, an npm name) throws;
// - pages are instantiated as the runtime does (methods and a copy of `data`), `setData` applies
//   its keys (paths like `a.b` and `a[0].b` too) to `this.data`; navigateTo/navigateBack keep a
//   page stack and call onLoad/onShow/onUnload;
// - the context's clock (Date) can be moved forward, as a phone's clock moves.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';

export const CLIENT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../client');

const CLOCK = `(function () {
  var RealDate = Date;
  var offset = 0;
  class ShiftedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) { super(RealDate.now() + offset); } else { super(...args); }
    }
    static now() { return RealDate.now() + offset; }
  }
  globalThis.Date = ShiftedDate;
  return function advance(ms) { offset += ms; };
})()`;

export class MiniProgramRuntime {
  // phone: a FakeMy (my.mjs), whose `api` is the `my` the code sees; configFile: the file loaded
  // for client/config.js (written by scripts/client_config.py for the cloud under test).
  constructor({ phone, configFile }) {
    this.phone = phone;
    this.configFile = configFile;
    this.required = [];      // every specifier passed to require, in order
    this.pageDefs = {};      // route -> the object given to Page()
    this.stack = [];         // open page instances, top last
    this.pending = [];       // promises returned by lifecycle calls the runtime made
    this.app = null;
    this.modules = new Map();
    this.context = vm.createContext({
      console, setTimeout, clearTimeout, my: phone.api,
      App: (def) => { this.app = def; },
      getApp: () => this.app,
      Page: (def) => { this.pageDefs[this.loadingRoute] = def; },
    });
    this.advanceClock = vm.runInContext(CLOCK, this.context);
    phone.attach(this);
  }

  // Loads app.js and every page of app.json, then launches the app (onLaunch).
  launch() {
    this.loadFile(path.join(CLIENT_DIR, 'app.js'));
    const appJson = JSON.parse(fs.readFileSync(path.join(CLIENT_DIR, 'app.json'), 'utf8'));
    this.routes = appJson.pages;
    for (const route of appJson.pages) {
      this.loadingRoute = route;
      this.loadFile(path.join(CLIENT_DIR, route + '.js'));
      if (!this.pageDefs[route]) throw new Error(`${route}.js did not call Page()`);
    }
    this.loadingRoute = null;
    this.app.onLaunch?.call(this.app, { query: {}, path: this.routes[0] });
    return this;
  }

  // Opens the first page as the runtime does at start: a new instance, onLoad, onShow.
  async openHome() {
    const page = this.open(this.routes[0], {});
    await this.settle();
    return page;
  }

  get currentPage() {
    return this.stack[this.stack.length - 1];
  }

  // Waits for everything the runtime started (lifecycle handlers) to finish.
  async settle() {
    while (this.pending.length) {
      const batch = this.pending.splice(0);
      await Promise.all(batch);
    }
  }

  open(route, query) {
    const def = this.pageDefs[route];
    if (!def) throw new Error(`no page ${route}`);
    const page = this.instantiate(route, def);
    this.stack.push(page);
    this.lifecycle(page, 'onLoad', query);
    this.lifecycle(page, 'onShow');
    return page;
  }

  navigateTo(url) {
    const [route, search] = url.replace(/^\//, '').split('?');
    const query = Object.fromEntries(new URLSearchParams(search || ''));
    this.lifecycle(this.currentPage, 'onHide');
    this.open(route, query);
  }

  navigateBack(delta = 1) {
    for (let i = 0; i < delta && this.stack.length > 1; i++) {
      this.lifecycle(this.stack.pop(), 'onUnload');
    }
    this.lifecycle(this.currentPage, 'onShow');
  }

  lifecycle(page, name, arg) {
    if (page && typeof page[name] === 'function') {
      const result = page[name](arg);
      if (result && typeof result.then === 'function') this.pending.push(result);
    }
  }

  instantiate(route, def) {
    const page = { route };
    for (const [key, value] of Object.entries(def)) {
      page[key] = typeof value === 'function' ? value : clone(value);
    }
    page.data = clone(def.data || {});
    page.setData = (patch, callback) => {
      for (const [key, value] of Object.entries(patch)) setPath(page.data, key, clone(value));
      if (callback) callback();
    };
    return page;
  }

  loadFile(file) {
    const resolved = path.resolve(file);
    if (this.modules.has(resolved)) return this.modules.get(resolved).exports;
    const source = resolved === path.join(CLIENT_DIR, 'config.js') && this.configFile
      ? fs.readFileSync(this.configFile, 'utf8')
      : fs.readFileSync(resolved, 'utf8');
    const module = { exports: {} };
    this.modules.set(resolved, module);
    const wrapper = vm.runInContext(`(function (exports, require, module) {${source}\n})`,
      this.context, { filename: resolved });
    wrapper.call(module.exports, module.exports, (spec) => this.require(spec, resolved), module);
    return module.exports;
  }

  require(spec, from) {
    this.required.push(spec);
    if (!/^\.{1,2}\//.test(spec) && !spec.startsWith('/')) {
      throw new Error(`require('${spec}') in ${path.relative(CLIENT_DIR, from)}: only the mini ` +
        `program's own files can be required (no Node built-ins, no npm packages)`);
    }
    const base = spec.startsWith('/') ? path.join(CLIENT_DIR, spec) : path.resolve(path.dirname(from), spec);
    const file = base.endsWith('.js') ? base : base + '.js';
    if (!file.startsWith(CLIENT_DIR + path.sep)) {
      throw new Error(`require('${spec}') leaves client/`);
    }
    return this.loadFile(file);
  }
}

function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

// setData's key syntax: `todos`, `todos[3].completed`, `error.message`.
function setPath(target, key, value) {
  const parts = key.match(/[^.[\]]+/g);
  let node = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i];
    if (node[part] === undefined || node[part] === null) {
      node[part] = /^\d+$/.test(parts[i + 1]) ? [] : {};
    }
    node = node[part];
  }
  node[parts[parts.length - 1]] = value;
}
