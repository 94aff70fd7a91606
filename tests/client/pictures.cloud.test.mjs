// A todo's picture on the todos page against the local cloud: the db function's files collection
// and the local OSS, no fake in between. my.uploadFile posts the ticket's form to the local OSS
// (PostObject), the server commits it, and the thumbnail's signed URL gives the same bytes back;
// replacing, removing and removing the todo delete the object; another user gets nothing.
// pictures.test.mjs drives the same page against a backend in memory (what goes wrong).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLOUDS, needsCloud, onCloudTime, startPhone } from './support.mjs';

const skip = needsCloud;
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array.from({ length: 300 }, (_, i) => i % 256)];
const JPEG = [0xff, 0xd8, 0xff, 0xe0, ...Array.from({ length: 500 }, (_, i) => (i * 7) % 256), 0xff, 0xd9];

// A phone on the cloud's time with one todo on its list.
async function phoneWithTodo(text) {
  const started = startPhone();
  await onCloudTime(CLOUDS.main, started.runtime);
  const page = await started.runtime.openHome();
  await started.backend.addTodo(text, 'k-' + Math.random().toString(16).slice(2));
  await page.reload();
  const [todo] = page.data.todos;
  return { ...started, page, todo, tap: { target: { dataset: { id: todo.id } } } };
}

// What a signed URL answers (an <image src> fetching it).
async function fetched(url) {
  const resp = await fetch(url);
  return { status: resp.status, bytes: Array.from(new Uint8Array(await resp.arrayBuffer())) };
}

// The object key a path-style URL names (/{bucket}/{key}, the key percent-encoded).
function keyOf(url) {
  return decodeURIComponent(new URL(url).pathname).split('/').slice(2).join('/');
}

// The backend's error code for a call that must fail.
async function refusal(promise) {
  try {
    await promise;
  } catch (err) {
    return err.code;
  }
  assert.fail('the call succeeded');
}

test('a picture added to a todo goes to OSS and comes back by its signed URL', { skip }, async () => {
  const { phone, backend, page, todo, tap } = await phoneWithTodo('water the plants');
  phone.pick(PNG, 'png');
  await page.addPicture(tap);
  assert.equal(page.data.picturing, null);
  assert.deepEqual(phone.toasts, [], 'no error shown');
  // The form went to the local OSS and was stored (success_action_status 200).
  const [upload] = phone.uploads;
  assert.equal(upload.status, 200);
  assert.equal(upload.fileField, 'file');
  // The todo names the committed file, on the server too.
  const [shown] = page.data.todos;
  assert.match(shown.picture, /^[0-9A-Z]{26}$/);
  assert.equal((await backend.getTodo(todo.id)).picture, shown.picture);
  const file = await backend.getFile(shown.picture);
  assert.deepEqual([file.name, file.contentType, file.size], ['picture.png', 'image/png', PNG.length]);
  // The thumbnail's URL is a signed GET of the user's file: the same bytes back.
  assert.match(shown.thumb, /[?&]Signature=/);
  assert.deepEqual(await fetched(shown.thumb), { status: 200, bytes: PNG });
});

test('replacing and removing the picture, then the todo, delete each file from OSS', { skip }, async () => {
  const { phone, backend, page, tap } = await phoneWithTodo('renew passport');
  phone.pick(PNG, 'png');
  await page.addPicture(tap);
  const first = page.data.todos[0];
  // Replace it from the thumbnail's sheet: the first file is gone, its URL finds nothing.
  phone.sheetChoice = 1;
  phone.pick(JPEG, 'jpeg');
  await page.pictureActions(tap);
  const second = page.data.todos[0];
  assert.notEqual(second.picture, first.picture);
  assert.deepEqual(await fetched(second.thumb), { status: 200, bytes: JPEG });
  assert.equal((await backend.getFile(second.picture)).contentType, 'image/jpeg');
  assert.equal(await refusal(backend.getFile(first.picture)), 'NotFound');
  assert.equal((await fetched(first.thumb)).status, 404, 'the replaced object is deleted');
  // Remove the picture: the todo names none, the file and its object are gone.
  phone.sheetChoice = 2;
  await page.pictureActions(tap);
  assert.deepEqual([page.data.todos[0].picture, page.data.todos[0].thumb], [null, '']);
  assert.equal((await backend.getTodo(second.id)).picture ?? null, null);
  assert.equal(await refusal(backend.getFile(second.picture)), 'NotFound');
  assert.equal((await fetched(second.thumb)).status, 404);
  // A new picture, then the todo removed: its file goes with it.
  phone.pick(PNG, 'png');
  await page.addPicture(tap);
  const third = page.data.todos[0];
  assert.deepEqual(await fetched(third.thumb), { status: 200, bytes: PNG });
  await page.removeTodo(tap);
  assert.deepEqual(page.data.todos, []);
  assert.equal(await refusal(backend.getFile(third.picture)), 'NotFound');
  assert.equal((await fetched(third.thumb)).status, 404);
  assert.equal((await backend.files({ op: 'list', limit: 10, cursor: null })).items.length, 0);
});

test('another user can neither sign a URL for the picture nor read it by name', { skip }, async () => {
  const { phone, page, tap } = await phoneWithTodo('private');
  phone.pick(PNG, 'png');
  await page.addPicture(tap);
  const { picture, thumb } = page.data.todos[0];
  const stranger = startPhone();
  assert.equal(await refusal(stranger.backend.fileUrl(picture)), 'NotFound');
  assert.equal(await refusal(stranger.backend.getFile(picture)), 'NotFound');
  // Naming it on a todo of theirs is refused: the file is not theirs.
  const theirs = await stranger.backend.addTodo('mine', 'k-mine-' + picture);
  assert.equal(await refusal(stranger.backend.updateTodo(theirs.id, theirs.version, { picture })),
    'InvalidRequest');
  // Their own URL, edited to name this user's object, is refused by OSS.
  stranger.phone.pick(JPEG, 'jpeg');
  const ticket = await stranger.backend.prepareUpload('x.jpg', 'image/jpeg', JPEG.length);
  const form = new FormData();
  for (const [key, value] of Object.entries(ticket.formData)) form.append(key, value);
  form.append(ticket.fileField, new Blob([new Uint8Array(JPEG)], { type: 'image/jpeg' }), 'x.jpg');
  assert.equal((await fetch(ticket.url, { method: 'POST', body: form })).status, 200);
  await stranger.backend.commitFile(ticket.fileId);
  const own = await stranger.backend.fileUrl(ticket.fileId);
  const edited = own.url.replace(encodeURIComponent(keyOf(own.url)), encodeURIComponent(keyOf(thumb)));
  assert.notEqual(edited, own.url);
  assert.equal((await fetched(edited)).status, 403);
  assert.deepEqual(await fetched(thumb), { status: 200, bytes: PNG }, 'the owner still reads it');
});

test('another phone of the same user shows the picture after its own load', { skip }, async () => {
  const { phone, page, tap } = await phoneWithTodo('the receipt');
  phone.pick(PNG, 'png');
  await page.addPicture(tap);
  const { picture } = page.data.todos[0];
  const other = startPhone(CLOUDS.main, phone.userId);
  await onCloudTime(CLOUDS.main, other.runtime);
  const otherPage = await other.runtime.openHome();
  assert.equal(otherPage.data.todos[0].picture, picture);
  assert.deepEqual(await fetched(otherPage.data.todos[0].thumb), { status: 200, bytes: PNG });
});

test('an older base library (apFilePaths only: the size from my.getFileInfo) uploads the same', { skip }, async () => {
  const { phone, backend, page, tap } = await phoneWithTodo('scan');
  phone.oldBaseLibrary = true;
  phone.pick(JPEG, 'jpeg');
  await page.addPicture(tap);
  const { picture, thumb } = page.data.todos[0];
  assert.deepEqual([(await backend.getFile(picture)).size, (await fetched(thumb)).bytes], [JPEG.length, JPEG]);
});
