// A todo's picture on the todos page (lib/pictures.js) against a backend in memory
// (fakecloud.mjs): pick, prepareUpload, my.uploadFile with the ticket's form, commit, the todo
// names the file, a thumbnail by its signed URL; replace, remove, and what goes wrong. No cloud
// needed; pictures.cloud.test.mjs runs the same against the local cloud's functions and OSS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { FakeBackend, offlinePhone } from './fakecloud.mjs';
import { LANGUAGE, S } from './support.mjs';

const require = createRequire(import.meta.url);
const { Thumbnails } = require('../../client/lib/pictures.js');

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5];
const JPEG = [0xff, 0xd8, 0xff, 0xe0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0xff, 0xd9];

async function withTodo(text = 'water the plants') {
  const backend = new FakeBackend();
  const { phone, runtime } = offlinePhone(backend, LANGUAGE);
  const page = await runtime.openHome();
  page.addTodo();
  await runtime.settle();
  runtime.currentPage.onInput({ detail: { value: text } });
  await runtime.currentPage.add();
  await runtime.settle();
  const [todo] = page.data.todos;
  return { backend, phone, runtime, page, todo, tap: { target: { dataset: { id: todo.id } } } };
}

test('a picture added to a todo is uploaded with the ticket, committed, and shown by its URL', async () => {
  const { backend, phone, page, todo, tap } = await withTodo();
  assert.equal(todo.picture, null);
  assert.equal(todo.thumb, '');
  assert.deepEqual(page.data.s, S.page('todos'));
  phone.pick(PNG, 'png');
  await page.addPicture(tap);
  assert.deepEqual(backend.ops('files'), ['prepareUpload', 'commit', 'url']);
  // The upload: the ticket's form, the file under its fileField, the size and type declared.
  const [upload] = phone.uploads;
  assert.equal(upload.fileField, 'file');
  assert.equal(upload.status, 200);
  const [fileId] = backend.files.keys();
  assert.deepEqual(backend.tickets.get(fileId), { name: 'picture.png', contentType: 'image/png', size: PNG.length });
  assert.deepEqual(Array.from(backend.objects.get(fileId)), PNG);
  // The todo names it, and the page shows its thumbnail.
  assert.equal(backend.todos[0].picture, fileId);
  const [shown] = page.data.todos;
  assert.equal(shown.picture, fileId);
  assert.match(shown.thumb, new RegExp(`^https://bucket\\.oss\\.fake/files/user/${fileId}\\?`));
  assert.equal(page.data.picturing, null);
});

test('an old base library (apFilePaths only): the size comes from getFileInfo, the type from getImageInfo', async () => {
  const { backend, phone, page, tap } = await withTodo();
  phone.oldBaseLibrary = true;
  phone.pick(JPEG, 'jpeg');
  await page.addPicture(tap);
  const [fileId] = backend.files.keys();
  assert.deepEqual(backend.tickets.get(fileId), { name: 'picture.jpg', contentType: 'image/jpeg', size: JPEG.length });
});

test('the thumbnail is back after a reload, its URL reused while it is valid', async () => {
  const { backend, phone, page, tap } = await withTodo();
  phone.pick(PNG);
  await page.addPicture(tap);
  const thumb = page.data.todos[0].thumb;
  await page.reload();
  assert.equal(page.data.todos[0].thumb, thumb, 'the same signed URL');
  assert.deepEqual(backend.ops('files'), ['prepareUpload', 'commit', 'url']);
});

test('signed URLs are asked again a minute before they expire', async () => {
  let now = 1_000_000;
  let asked = 0;
  const backend = { fileUrl: async () => ({ url: `https://x/${++asked}`, expiresAt: now + 5 * 60000 }) };
  const thumbs = new Thumbnails(backend, () => now);
  assert.equal(await thumbs.url('f'), 'https://x/1');
  now += 3 * 60000;
  assert.equal(await thumbs.url('f'), 'https://x/1');
  now += 61000; // 59 s left
  assert.equal(await thumbs.url('f'), 'https://x/2');
});

test('replacing a picture removes the old file; removing it removes the file', async () => {
  const { backend, phone, page, tap } = await withTodo();
  phone.pick(PNG);
  await page.addPicture(tap);
  const [first] = backend.files.keys();
  // Tap the thumbnail: view it, then replace it.
  phone.sheetChoice = 0;
  await page.pictureActions(tap);
  assert.deepEqual(phone.previews, [[page.data.todos[0].thumb]]);
  assert.deepEqual(phone.sheets[0], [S.t('todos.viewPicture'), S.t('todos.replacePicture'), S.t('todos.removePicture')]);
  phone.sheetChoice = 1;
  phone.pick(JPEG, 'jpeg');
  await page.pictureActions(tap);
  const [second] = backend.files.keys();
  assert.notEqual(second, first);
  assert.equal(backend.files.size, 1, 'the replaced file is gone');
  assert.equal(page.data.todos[0].picture, second);
  assert.match(page.data.todos[0].thumb, new RegExp(second));
  // Remove the picture: the todo names none, the file is gone, no thumbnail.
  phone.sheetChoice = 2;
  await page.pictureActions(tap);
  assert.equal(backend.files.size, 0);
  assert.deepEqual([page.data.todos[0].picture, page.data.todos[0].thumb], [null, '']);
  assert.equal(phone.toasts.at(-1).content, S.t('todos.pictureRemoved'));
  // Cancelling the sheet does nothing.
  phone.sheetChoice = -1;
  const calls = backend.calls.length;
  await page.pictureActions(tap);
  assert.equal(backend.calls.length, calls);
});

test('removing the todo removes its picture', async () => {
  const { backend, phone, page, tap } = await withTodo();
  phone.pick(PNG);
  await page.addPicture(tap);
  assert.equal(backend.files.size, 1);
  await page.removeTodo(tap);
  assert.equal(backend.files.size, 0);
  assert.deepEqual(page.data.todos, []);
});

test('picking none (the user backs out) changes nothing', async () => {
  const { backend, phone, page, tap } = await withTodo();
  await page.addPicture(tap); // the album is empty: chooseImage fails with error 11
  assert.deepEqual(backend.ops('files'), []);
  assert.equal(phone.toasts.length, 0);
  assert.equal(page.data.picturing, null);
});

test('OSS refusing the upload: an error, nothing committed, the todo unchanged', async () => {
  const { backend, phone, page, tap } = await withTodo();
  backend.rejectUploads = true;
  phone.pick(PNG);
  await page.addPicture(tap);
  assert.deepEqual(backend.ops('files'), ['prepareUpload']);
  assert.equal(phone.toasts.at(-1).content, S.t('errors.UploadFailed'));
  assert.equal(backend.todos[0].picture, null);
  assert.equal(page.data.picturing, null);
});

test('a commit whose reply was lost is sent again: one file', async () => {
  const { backend, phone, page, tap } = await withTodo();
  phone.pick(PNG);
  const answer = backend.answer.bind(backend);
  backend.answer = (url, body) => { // lose the first commit's reply
    const res = answer(url, body);
    if (body && JSON.parse(body).op === 'commit' && backend.ops('files').length === 2) return null;
    return res;
  };
  await page.addPicture(tap);
  assert.deepEqual(backend.ops('files'), ['prepareUpload', 'commit', 'commit', 'url']);
  assert.equal(backend.files.size, 1);
  assert.ok(page.data.todos[0].thumb);
});

test('a todo changed elsewhere (Conflict) takes the picture at its new version', async () => {
  const { backend, phone, page, tap } = await withTodo();
  backend.todos[0].version += 1; // renamed on another phone
  backend.todos[0].text = 'water the plants today';
  phone.pick(PNG);
  await page.addPicture(tap);
  assert.deepEqual(backend.ops('todos').slice(-3), ['update', 'get', 'update']);
  assert.equal(page.data.todos[0].text, 'water the plants today');
  assert.ok(page.data.todos[0].thumb);
});

test('a todo removed elsewhere: its new picture is removed again, the todo leaves the list', async () => {
  const { backend, phone, page, tap } = await withTodo();
  backend.todos = [];
  phone.pick(PNG);
  await page.addPicture(tap);
  assert.equal(backend.files.size, 0, 'the committed file was removed');
  assert.deepEqual(backend.ops('files'), ['prepareUpload', 'commit', 'remove']);
  assert.equal(phone.toasts.at(-1).content, S.t('todos.removedElsewhere'));
  assert.deepEqual(page.data.todos, []);
});

test('a quota refusal at prepareUpload is shown in the user\'s language, nothing uploaded', async () => {
  const { backend, phone, page, tap } = await withTodo();
  backend.down.add('files.prepareUpload');
  phone.pick(PNG);
  await page.addPicture(tap);
  assert.equal(phone.uploads.length, 0);
  assert.equal(phone.toasts.at(-1).content, S.t('errors.UpstreamUnavailable'));
});
