// The mini program's code uses only what an Alipay mini program has: App, Page, getApp, my and
// its own files. runtime.mjs runs it in a context without Node's globals and refuses any require
// but a file of client/; these tests check what that gave and that the check can fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { builtinModules } from 'node:module';
import { FakeMy } from './my.mjs';
import { CLIENT_DIR, MiniProgramRuntime } from './runtime.mjs';

function launched() {
  const phone = new FakeMy({ alipaySandbox: 'http://127.0.0.1:9' });
  const configFile = path.join(CLIENT_DIR, 'config.example.js');
  return new MiniProgramRuntime({ phone, configFile }).launch();
}

test('the app and its pages load with no require of a Node built-in or npm package', () => {
  const runtime = launched();
  assert.deepEqual(Object.keys(runtime.pageDefs).sort(),
    ['pages/add-todo/add-todo', 'pages/pro/pro', 'pages/todos/todos']);
  assert.ok(runtime.app.backend, 'onLaunch built the backend');
  assert.ok(runtime.required.length >= 5);
  for (const spec of runtime.required) {
    assert.match(spec, /^\.\.?\//, `require('${spec}') is not a file of the mini program`);
  }
  const files = [...runtime.modules.keys()].map((f) => path.relative(CLIENT_DIR, f)).sort();
  assert.deepEqual(files, ['app.js', 'config.js', 'lib/backend.js', 'lib/base64.js',
    'lib/checkout.js', 'lib/fcsign.js', 'lib/i18n/en.js', 'lib/i18n/index.js', 'lib/i18n/zh.js',
    'lib/pictures.js', 'lib/request.js', 'lib/vendor/blueimp-md5.js', 'lib/vendor/js-sha256.js',
    'pages/add-todo/add-todo.js', 'pages/pro/pro.js', 'pages/todos/todos.js']);
});

test('the context the code runs in has none of Node\'s globals', () => {
  const runtime = launched();
  for (const name of ['process', 'Buffer', 'TextEncoder', 'TextDecoder', 'require', 'global',
    'fetch', 'setImmediate', 'module']) {
    assert.equal(vm.runInContext(`typeof ${name}`, runtime.context), 'undefined', name);
  }
});

test('the check fails for code that requires a Node built-in', () => {
  const runtime = launched();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'client-probe-'));
  const file = path.join(dir, 'probe.js');
  fs.writeFileSync(file, "module.exports = require('crypto');\n");
  try {
    assert.throws(() => runtime.loadFile(file), /only the mini program's own files/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

// Where a source names a Node built-in module: a require() or import of one (`node:` prefixed or
// not, subpaths like `fs/promises` too, also inside a string given to eval), a require() whose
// argument is not a string literal (it could compute one), and in JavaScript any call of anything
// with a built-in's name as argument (a bundler's `__webpack_require__('buffer')`) or any
// `node:` string. A mini program build that resolves require() statically refuses a Node module
// name even in a branch that never runs (as js-md5's Node branch was). A built-in's name as plain
// data (`op: 'url'`, the files API's) is not a module named.
const BUILTINS = new Set(builtinModules.filter((name) => !name.startsWith('_')));
const isBuiltin = (spec) => spec.startsWith('node:') || BUILTINS.has(spec);

export function nodeBuiltinsNamed(source, { javascript = true } = {}) {
  const found = [];
  const code = javascript ? source.replace(/\/\*[\s\S]*?\*\/|(^|[^:\\])\/\/.*$/gm, '$1') : source;
  for (const [, spec] of code.matchAll(/\b(?:require|import)\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g)) {
    if (isBuiltin(spec)) found.push(spec);
  }
  for (const [, spec] of code.matchAll(/\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g)) {
    if (isBuiltin(spec)) found.push(spec);
  }
  if (javascript) {
    for (const [call] of code.matchAll(/\brequire\s*\((?!\s*['"`])[^)]*\)/g)) found.push(call);
    for (const [, , spec] of code.matchAll(/\(\s*(['"`])([\w:/]+)\1\s*[,)]/g)) {
      if (isBuiltin(spec)) found.push(spec);
    }
    for (const [, , spec] of code.matchAll(/(['"`])(node:[\w/]+)\1/g)) found.push(spec);
  }
  return [...new Set(found)];
}

test('the built-in check finds each way of naming one, and nothing in ordinary code', () => {
  const named = {
    "module.exports = require('crypto');": ['crypto'],
    'var b = require("buffer").Buffer;': ['buffer'],
    "require('node:fs')": ['node:fs'],
    "require( 'fs/promises' )": ['fs/promises'],
    "import os from 'os';": ['os'],
    "const { join } = await import('path');": ['path'],
    "var name = 'crypto'; var c = require(name);": ['require(name)'],
    "var md5 = eval(\"require('crypto')\");": ['crypto'],
    "var B = __webpack_require__('buffer').Buffer;": ['buffer'],
    "var table = { zlib: 'node:zlib' };": ['node:zlib'],
    "if (typeof window === 'undefined') { nodeCrypto = require('crypto'); }": ['crypto'],
  };
  for (const [source, expected] of Object.entries(named)) {
    assert.deepEqual(nodeBuiltinsNamed(source).sort(), expected.sort(), source);
  }
  // Not JavaScript (a README): only require/import of a built-in counts, not the word.
  assert.deepEqual(nodeBuiltinsNamed("`require('crypto')` and the crypto module",
    { javascript: false }), ['crypto']);
  assert.deepEqual(nodeBuiltinsNamed("Node's crypto and buffer modules", { javascript: false }), []);
  for (const source of ["var x = require('./lib/backend.js');", "// require('crypto') in a comment",
    "/* import fs from 'fs' */", "var kind = 'object'; var url = config.url;",
    "backend.files({ op: 'url', id: id });", "var parts = ['path', 'events'];",
    "my.request({ url: 'https://example.com/path' });"]) {
    assert.deepEqual(nodeBuiltinsNamed(source), [], source);
  }
});

test('no file under client/, vendored ones included, names a Node built-in anywhere', () => {
  const files = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push(full);
    }
  };
  walk(CLIENT_DIR);
  assert.ok(files.some((f) => f.includes(`${path.sep}vendor${path.sep}`) && f.endsWith('.js')),
    'vendor is scanned');
  assert.ok(files.some((f) => f.endsWith('.axml')) && files.some((f) => f.endsWith('.md')));
  for (const file of files) {
    const source = fs.readFileSync(file, 'utf8');
    const named = nodeBuiltinsNamed(source, { javascript: file.endsWith('.js') });
    assert.deepEqual(named, [], `${path.relative(CLIENT_DIR, file)} names Node built-ins`);
  }
});

test('the pages\' and lib\'s own source names no Node or WeChat API', () => {
  const own = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'vendor') walk(full);
      else if (entry.name.endsWith('.js')) own.push(full);
    }
  };
  walk(CLIENT_DIR);
  assert.ok(own.length >= 7);
  for (const file of own) {
    const source = fs.readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '');
    for (const word of ['process.', 'Buffer', 'TextEncoder', 'global.', 'wx.', '__dirname']) {
      assert.ok(!source.includes(word), `${path.relative(CLIENT_DIR, file)} uses ${word}`);
    }
    for (const [, spec] of source.matchAll(/require\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      assert.match(spec, /^\.\.?\//, `${path.relative(CLIENT_DIR, file)} requires ${spec}`);
    }
  }
});
