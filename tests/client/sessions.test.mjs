// Sessions from the mini program's side: STS credentials renewed before they expire (and when FC
// says they have, for a phone whose clock is behind), and a session that expired while the app
// was idle replaced by a new login without the user noticing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLOUDS, advanceCloudClock, needsCloud, needsShortCloud, onCloudTime, shown, sleep, startPhone, warmUp } from './support.mjs';

const MINUTE = 60 * 1000;

function refreshes(phone) {
  return phone.requests.filter((r) => r.url.endsWith('/refresh')).length;
}

test('STS credentials are refreshed before they expire', { skip: needsCloud }, async () => {
  const { phone, runtime, backend } = startPhone();
  await onCloudTime(CLOUDS.main, runtime);
  const page = await runtime.openHome();
  const first = phone.session().sts;
  assert.equal(refreshes(phone), 0);
  runtime.advanceClock(11 * MINUTE);
  await backend.addTodo('still here', 'k-still-here');
  assert.equal(refreshes(phone), 0, '4 minutes left: no need yet');

  // 13 of the credentials' 15 minutes have passed on the phone: renewed ahead of the next call.
  runtime.advanceClock(2 * MINUTE);
  await page.reload();
  assert.equal(refreshes(phone), 1);
  const second = phone.session().sts;
  assert.notEqual(second.AccessKeyId, first.AccessKeyId);
  assert.ok(Date.parse(second.Expiration) >= Date.parse(first.Expiration));
  assert.deepEqual(shown(page), [{ text: 'still here', completed: false }]);

  // 13 minutes on from the renewal: renewed again, never a refused call, one session throughout.
  runtime.advanceClock(13 * MINUTE);
  await page.reload();
  assert.equal(refreshes(phone), 2);
  assert.deepEqual(phone.requests.filter((r) => r.status !== 200), [], 'no call was refused');
  assert.equal(phone.authCodes, 1);
});

test('credentials FC calls expired (a phone clock behind) are refreshed and the call repeated', { skip: needsCloud }, async () => {
  const { phone, runtime } = startPhone();
  await onCloudTime(CLOUDS.main, runtime);
  const page = await runtime.openHome();
  await advanceCloudClock(CLOUDS.main, 16 * 60); // the phone's clock stays where it was
  await warmUp(CLOUDS.main);
  await page.reload();
  const statuses = phone.requests.map((r) => r.status);
  assert.deepEqual(statuses.slice(-3), [403, 200, 200], 'refused, refreshed, repeated');
  assert.equal(refreshes(phone), 1);
  assert.equal(page.data.error, null);
  assert.equal(phone.authCodes, 1);
});

test('a session that expired while idle is replaced by a new login', { skip: needsShortCloud }, async () => {
  const cloud = CLOUDS.short;
  const { phone, runtime, backend } = startPhone(cloud);
  await onCloudTime(cloud, runtime);
  const page = await runtime.openHome();
  await backend.addTodo('survives re-login', 'k-survives');
  await page.reload();
  const logins = phone.authCodes;
  const first = phone.session().sessionId;

  await sleep(cloud.idleSeconds * 1000 + 700);
  await page.reload(); // db answers SessionExpired: log in again, list again
  assert.equal(phone.authCodes, logins + 1);
  assert.notEqual(phone.session().sessionId, first);
  assert.equal(page.data.error, null);
  assert.deepEqual(shown(page), [{ text: 'survives re-login', completed: false }]);

  // Idle again, and the credentials due for renewal: refresh answers SessionExpired -> login.
  await sleep(cloud.idleSeconds * 1000 + 700);
  runtime.advanceClock(14 * MINUTE);
  const before = refreshes(phone);
  await page.reload();
  assert.equal(refreshes(phone), before + 1);
  assert.equal(phone.authCodes, logins + 2);
  assert.deepEqual(shown(page), [{ text: 'survives re-login', completed: false }]);
});
