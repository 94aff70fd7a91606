// A plain HTML preview of the todo page, for the README's picture: NOT Alipay's renderer. It reads
// client/pages/todos/todos.axml and the .acss files, renders the template the way AXML means it
// for the subset the page uses (view/text/button/label/checkbox/checkbox-group/input, a:if/a:elif,
// a:for with `item`, {{expressions}}, rpx as half a CSS pixel on a 375 px wide screen) with the
// page's data, adds a title bar like Alipay's, and screenshots it with headless Chromium.
//
//   npm install --prefix scripts/client-preview     (once; and `apt-get install chromium`)
//   node scripts/client-preview/preview.mjs [out.png]  (default docs/client-todos.png)
//
// The data is the page's `data` after a load (`todos` of {id, text, completed}, and `s`, the
// page's strings from client/lib/i18n, whose title is the title bar's); the todos' texts are
// examples. LANGUAGE picks the strings (`en`, the default here, or `zh`); CHROMIUM another browser
// binary than /usr/bin/chromium.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLIENT = path.join(ROOT, 'client');
const out = path.resolve(process.argv[2] || path.join(ROOT, 'docs', 'client-todos.png'));
const strings = createRequire(import.meta.url)(path.join(CLIENT, 'lib/i18n/index.js'))
  .forLanguage(process.env.LANGUAGE || 'en');

const data = {
  todos: [
    { id: '01JD3Q6X2P7N4K8M5R9T0V1W2Y', text: 'Buy milk', completed: true },
    { id: '01JD3Q7A9G2H5J8K1M4N7P0Q3R', text: 'Call the bank about the card', completed: false },
    { id: '01JD3Q8C4D6F8H0J2K4M6N8P0Q', text: 'Renew passport', completed: false },
    { id: '01JD3Q9E1F3G5H7J9K1L3M5N7P', text: 'Book the dentist', completed: true },
    { id: '01JD3QAB2C4D6E8F0G2H4J6K8M', text: 'Water the plants', completed: false },
  ],
  loading: false, loadingMore: false, hasMore: false, error: null, signedOut: false,
  s: strings.page('todos'),
};

// -- a small AXML parser: elements, attributes, text --------------------------------------------
function parse(source) {
  const root = { tag: '#root', attrs: {}, children: [] };
  const stack = [root];
  const token = /<!--[\s\S]*?-->|<\/([\w-]+)\s*>|<([\w-]+)((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*(\/?)>|([^<]+)/g;
  let m;
  while ((m = token.exec(source))) {
    const top = stack[stack.length - 1];
    if (m[1]) {
      stack.pop();
    } else if (m[2]) {
      const attrs = {};
      for (const a of m[3].matchAll(/([\w:-]+)(?:="([^"]*)")?/g)) attrs[a[1]] = a[2] ?? 'true';
      const node = { tag: m[2], attrs, children: [] };
      top.children.push(node);
      if (!m[4] && !['input', 'checkbox'].includes(m[2])) stack.push(node);
    } else if (m[5] && m[5].trim()) {
      top.children.push({ text: m[5].trim() });
    }
  }
  return root;
}

function evaluate(expr, scope) {
  return new Function(...Object.keys(scope), `return (${expr});`)(...Object.values(scope));
}

function interpolate(text, scope) {
  const whole = text.match(/^\{\{(.+)\}\}$/s);
  if (whole) return evaluate(whole[1], scope);
  return text.replace(/\{\{(.+?)\}\}/g, (_, e) => String(evaluate(e, scope) ?? ''));
}

const escape = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

function renderChildren(children, scope) {
  let html = '';
  let chainDone = false; // an a:if/a:elif chain already rendered a branch
  for (const node of children) {
    if (node.text) { html += escape(interpolate(node.text, scope)); continue; }
    const a = node.attrs;
    if ('a:if' in a) {
      chainDone = !!interpolate(a['a:if'], scope);
      if (!chainDone) continue;
    } else if ('a:elif' in a) {
      if (chainDone) continue;
      chainDone = !!interpolate(a['a:elif'], scope);
      if (!chainDone) continue;
    } else if ('a:else' in a) {
      if (chainDone) continue;
    }
    if ('a:for' in a) {
      for (const [index, item] of interpolate(a['a:for'], scope).entries()) {
        html += renderElement(node, { ...scope, item, index });
      }
      continue;
    }
    html += renderElement(node, scope);
  }
  return html;
}

const TAGS = { view: 'div', text: 'span', 'checkbox-group': 'div', label: 'label', button: 'button' };

function renderElement(node, scope) {
  const a = node.attrs;
  const cls = a.class ? ` class="${escape(interpolate(a.class, scope))}"` : '';
  if (node.tag === 'checkbox') {
    const checked = interpolate(a.checked || 'false', scope) ? ' checked' : '';
    return `<input type="checkbox"${checked}>`;
  }
  if (node.tag === 'input') {
    return `<input${cls} placeholder="${escape(a.placeholder || '')}">`;
  }
  const tag = TAGS[node.tag] || 'div';
  const button = node.tag === 'button'
    ? ` data-type="${escape(a.type || 'default')}" data-size="${escape(a.size || 'default')}"` : '';
  return `<${tag}${cls}${button}>${renderChildren(node.children, scope)}</${tag}>`;
}

const rpx = (css) => css.replace(/(-?\d*\.?\d+)rpx/g, (_, n) => `${Number(n) / 2}px`)
  .replace(/\bpage\s*\{/g, 'body {');

const axml = fs.readFileSync(path.join(CLIENT, 'pages/todos/todos.axml'), 'utf8');
const css = rpx(fs.readFileSync(path.join(CLIENT, 'app.acss'), 'utf8') +
  fs.readFileSync(path.join(CLIENT, 'pages/todos/todos.acss'), 'utf8'));
const title = strings.t('todos.title'); // the page sets it with my.setNavigationBar
const titleColor = JSON.parse(fs.readFileSync(path.join(CLIENT, 'app.json'), 'utf8')).window.titleBarColor;

const html = `<!doctype html><html><head><meta charset="utf-8"><style>
  * { box-sizing: border-box; }
  body { margin: 0; font-family: "DejaVu Sans", sans-serif; }
  .title-bar { height: 44px; line-height: 44px; text-align: center; color: #fff; font-size: 17px;
    background: ${titleColor}; }
  button { display: block; width: 100%; border: 1px solid #ddd; border-radius: 6px; padding: 11px;
    font-size: 17px; background: #fff; color: #333; }
  button[data-type="primary"] { background: #1677ff; border-color: #1677ff; color: #fff; }
  button[data-size="mini"] { display: inline-block; width: auto; padding: 4px 12px; font-size: 13px; }
  input[type=checkbox] { width: 20px; height: 20px; margin: 0; accent-color: #1677ff; }
  ${css}
</style></head><body><div class="title-bar">${escape(title)}</div>
${renderChildren(parse(axml).children, data)}</body></html>`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 375, height: 667 }, deviceScaleFactor: 2 });
  await page.setContent(html);
  await page.screenshot({ path: out });
} finally {
  await browser.close();
}
console.log(`wrote ${path.relative(process.cwd(), out)}`);
