// The two pages driven as the runtime drives them (onLoad, onShow, handlers with event objects,
// setData applied to page.data), with the real client code against the local cloud.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLOUDS, S, clearFaults, injectedFaults, needsCloud, setFault, shown, startPhone } from './support.mjs';

const skip = needsCloud;
const TODOS = 'pages/todos/todos';
const ADD = 'pages/add-todo/add-todo';

// Types a todo on the add-todo page and taps Add, from the todos page; back on the list after.
async function addThroughPages(runtime, text) {
  const list = runtime.currentPage;
  list.addTodo();
  await runtime.settle();
  const page = runtime.currentPage;
  assert.equal(page.route, ADD);
  page.onInput({ detail: { value: text } });
  await page.add();
  await runtime.settle();
  assert.equal(runtime.currentPage, list, 'add navigated back to the list');
}

test('first login shows the empty state; adding, toggling and removing go through the pages', { skip }, async () => {
  const { phone, runtime } = startPhone();
  const page = await runtime.openHome();
  assert.equal(page.route, TODOS);
  // First login: one auth code, a session kept in storage, an empty list shown as such.
  assert.equal(phone.authCodes, 1);
  assert.match(phone.session().sessionId, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(page.data.todos, []);
  assert.equal(page.data.loading, false);
  assert.equal(page.data.error, null);
  // In the phone's language: the page's strings, its title.
  assert.deepEqual(page.data.s, S.page('todos'));
  assert.deepEqual(phone.titles, [S.t('todos.title')]);

  // An empty text is refused on the page, without a request.
  page.addTodo();
  await runtime.settle();
  const before = phone.requests.length;
  await runtime.currentPage.add();
  assert.equal(phone.requests.length, before);
  assert.equal(phone.toasts.at(-1).content, S.t('addTodo.typeFirst'));
  assert.deepEqual(runtime.currentPage.data.s, S.page('addTodo'));
  runtime.phone.api.navigateBack();
  await runtime.settle();

  await addThroughPages(runtime, 'buy milk');
  await addThroughPages(runtime, '买牛奶 🥛');
  assert.deepEqual(shown(page), [{ text: 'buy milk', completed: false },
    { text: '买牛奶 🥛', completed: false }]);
  assert.deepEqual(Object.keys(page.data.todos[0]).sort(), ['completed', 'id', 'picture', 'text', 'thumb']);
  assert.deepEqual([page.data.todos[0].picture, page.data.todos[0].thumb], [null, '']);
  assert.deepEqual(phone.navigations.filter(([kind]) => kind === 'navigateTo').map(([, url]) => url),
    ['/pages/add-todo/add-todo', '/pages/add-todo/add-todo', '/pages/add-todo/add-todo']);

  // Toggle: the checkbox-group reports the checked ids.
  const [milk, chinese] = page.data.todos;
  await page.onTodoChanged({ detail: { value: [chinese.id] } });
  assert.deepEqual(shown(page), [{ text: 'buy milk', completed: false },
    { text: '买牛奶 🥛', completed: true }]);
  await page.onTodoChanged({ detail: { value: [] } });
  assert.equal(page.data.todos[1].completed, false);
  // The server has it as shown (another phone of the same user reads it).
  const other = startPhone(CLOUDS.main, phone.userId);
  const stored = await other.backend.getTodo(chinese.id);
  assert.equal(stored.completed, false);
  assert.equal(stored.version, 3);

  // Remove.
  await page.removeTodo({ target: { dataset: { id: milk.id } } });
  assert.deepEqual(shown(page), [{ text: '买牛奶 🥛', completed: false }]);
  const left = await other.backend.listTodos(null, 100);
  assert.deepEqual(Array.from(left.items, (t) => t.id), [chinese.id]);
  // Removing what is already gone (a retried tap) just drops it from the list.
  await page.removeTodo({ target: { dataset: { id: milk.id } } });
  assert.equal(page.data.todos.length, 1);
  assert.equal(phone.authCodes, 1, 'one login for the whole visit');
});

test('a Conflict reloads that todo as the server has it', { skip }, async () => {
  const { phone, runtime } = startPhone();
  const page = await runtime.openHome();
  await addThroughPages(runtime, 'call mum');
  const [todo] = page.data.todos;
  // Another phone of the same user renames and completes it meanwhile.
  const other = startPhone(CLOUDS.main, phone.userId);
  await other.backend.updateTodo(todo.id, 1, { text: 'call mum tonight', completed: true });

  const toasts = phone.toasts.length;
  await page.onTodoChanged({ detail: { value: [] } }); // this phone still shows it unchecked; the tap unchecks nothing...
  assert.equal(phone.toasts.length, toasts, 'no change, no call');
  await page.onTodoChanged({ detail: { value: [todo.id] } }); // ...so check it, from version 1
  assert.equal(phone.toasts.at(-1).content, S.t('todos.changedElsewhere'));
  assert.deepEqual(shown(page), [{ text: 'call mum tonight', completed: true }]);
  // Reloaded with its new version: the next toggle goes through.
  await page.onTodoChanged({ detail: { value: [] } });
  assert.deepEqual(shown(page), [{ text: 'call mum tonight', completed: false }]);
  assert.equal((await other.backend.getTodo(todo.id)).version, 3);
});

test('the list pages past one page as it scrolls, in the API\'s order', { skip }, async () => {
  const { phone, runtime, backend } = startPhone();
  const texts = Array.from({ length: 45 }, (_, i) => `todo ${String(i).padStart(2, '0')}`);
  for (const text of texts) {
    await backend.addTodo(text, 'k' + text.replace(' ', '-'));
  }
  const page = await runtime.openHome();
  assert.equal(page.data.todos.length, 20);
  assert.equal(page.data.hasMore, true);
  await page.onReachBottom();
  assert.equal(page.data.todos.length, 40);
  await page.onReachBottom();
  assert.deepEqual(page.data.todos.map((t) => t.text), texts);
  assert.equal(page.data.hasMore, false);
  const requests = phone.requests.length;
  await page.onReachBottom(); // the end: nothing more to ask
  assert.equal(phone.requests.length, requests);
  // Ids are the API's: sorted by creation, all distinct.
  const ids = page.data.todos.map((t) => t.id);
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, 45);
});

test('a retried Add after a lost reply creates one todo (idempotency key)', { skip }, async () => {
  const { runtime, backend, phone } = startPhone();
  const list = await runtime.openHome();
  list.addTodo();
  await runtime.settle();
  const page = runtime.currentPage;
  page.onInput({ detail: { value: 'pay rent' } });
  // FC runs the function, then the answer is lost on the way back.
  await setFault(CLOUDS.main, { service: 'fc', kind: 'lost_reply', api: 'InvokeFunction' });
  const start = await injectedFaults(CLOUDS.main);
  try {
    await page.add();
  } finally {
    assert.equal(await injectedFaults(CLOUDS.main) - start, 1);
    await clearFaults(CLOUDS.main);
  }
  assert.equal(runtime.currentPage, page, 'still on the add page');
  assert.equal(page.data.error.code, 'NetworkError');
  assert.equal(page.data.error.message, S.t('errors.NetworkError'));
  assert.equal(phone.toasts.at(-1).type, 'fail');
  assert.equal(phone.toasts.at(-1).content, S.t('errors.NetworkError'));
  await page.add(); // the user taps Add again
  await runtime.settle();
  assert.equal(runtime.currentPage, list);
  assert.deepEqual(shown(list), [{ text: 'pay rent', completed: false }]);
  assert.equal((await backend.listTodos(null, 100)).items.length, 1);
});

test('UpstreamUnavailable is shown with a retry that works once the store is back', { skip }, async () => {
  const { runtime } = startPhone();
  const page = await runtime.openHome(); // logged in, empty list
  await addThroughPages(runtime, 'water the plants');
  await setFault(CLOUDS.main, { service: 'tablestore', kind: 'down', api: 'GetRange' });
  try {
    await page.reload();
  } finally {
    await clearFaults(CLOUDS.main);
  }
  assert.equal(page.data.loading, false);
  assert.equal(page.data.error.code, 'UpstreamUnavailable');
  assert.equal(page.data.error.message, S.t('errors.UpstreamUnavailable'));
  assert.deepEqual(shown(page), [{ text: 'water the plants', completed: false }], 'the list stays');
  await page.retry(); // the Retry button
  assert.equal(page.data.error, null);
  assert.deepEqual(shown(page), [{ text: 'water the plants', completed: false }]);
});

test('logout ends the session on the server; signing in again shows the same todos', { skip }, async () => {
  const { phone, runtime } = startPhone();
  const page = await runtime.openHome();
  await addThroughPages(runtime, 'renew passport');
  const old = phone.session();
  await page.logout();
  assert.equal(phone.session(), null);
  assert.equal(page.data.signedOut, true);
  assert.deepEqual(page.data.todos, []);
  assert.equal(phone.toasts.at(-1).content, S.t('todos.signedOutToast'));
  // The old session is dead for the db function.
  const other = startPhone(CLOUDS.main, phone.userId);
  other.phone.api.setStorageSync({ key: 'miniapp.session', data: old });
  await assert.rejects(other.backend.send(old, { v: 2, op: 'list' }).then((answer) => {
    if (answer.error) throw answer.error;
  }), (err) => err.code === 'SessionNotFound');

  await page.reload(); // "Sign in again"
  assert.equal(phone.authCodes, 2);
  assert.notEqual(phone.session().sessionId, old.sessionId);
  assert.equal(page.data.signedOut, false);
  assert.deepEqual(shown(page), [{ text: 'renew passport', completed: false }]);
});
