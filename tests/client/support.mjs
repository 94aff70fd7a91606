// What the client tests share: the cloud under test (from the environment test_client_node.py
// sets), phones running the mini program, and the cloud's admin board (faults, clock).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { FakeMy, newUserId } from './my.mjs';
import { MiniProgramRuntime } from './runtime.mjs';

const env = process.env;

// The cloud test_client_node.py names (the shared test cloud): `main` (rate limits lifted), and
// `short` when it has set that cloud's session idle timeout to 3 seconds (a run of its own).
// Without them (node --test run by hand) the tests that need a cloud are skipped.
export const CLOUDS = {
  main: env.CLIENT_CONFIG && {
    configFile: env.CLIENT_CONFIG, alipaySandbox: env.ALIPAY_SANDBOX, admin: env.LOCALCLOUD_ADMIN,
  },
  short: env.SHORT_CLIENT_CONFIG && {
    configFile: env.SHORT_CLIENT_CONFIG, alipaySandbox: env.SHORT_ALIPAY_SANDBOX,
    admin: env.SHORT_LOCALCLOUD_ADMIN, idleSeconds: Number(env.SHORT_IDLE_SECONDS),
  },
};
// The phone's language setting for this run (test_client_node.py runs the tests once per
// language), and the client's own strings for it: what the pages must show.
export const LANGUAGE = env.CLIENT_LANGUAGE || 'zh-Hans';
const i18n = createRequire(import.meta.url)('../../client/lib/i18n/index.js');
export const S = i18n.forLanguage(LANGUAGE);

export const needsCloud = CLOUDS.main ? false : 'no cloud (run through tests/client/test_client_node.py)';
export const needsShortCloud = CLOUDS.short ? false : 'no short-idle cloud (run through test_client_node.py)';

// A phone running the mini program for a user (a new sandbox user unless userId is given).
export function startPhone(cloud = CLOUDS.main, userId = newUserId()) {
  const phone = new FakeMy({ alipaySandbox: cloud.alipaySandbox, userId, language: LANGUAGE });
  const runtime = new MiniProgramRuntime({ phone, configFile: cloud.configFile }).launch();
  return { phone, runtime, backend: runtime.app.backend };
}

// The page's todos as plain data.
export function shown(page) {
  return page.data.todos.map((t) => ({ text: t.text, completed: t.completed }));
}

export async function setFault(cloud, fault) {
  const resp = await fetch(cloud.admin + '/faults', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fault),
  });
  assert.equal(resp.status, 200, await resp.text());
}

export async function clearFaults(cloud) {
  const resp = await fetch(cloud.admin + '/faults', { method: 'DELETE' });
  assert.equal(resp.status, 200);
}

export async function injectedFaults(cloud) {
  const resp = await fetch(cloud.admin + '/faults');
  const body = await resp.json();
  return Object.values(body.injected).reduce((a, b) => a + b, 0);
}

// Moves the cloud's expiry clock (STS expirations, Tablestore TTLs) forward; answers its time
// (seconds).
export async function advanceCloudClock(cloud, seconds) {
  const resp = await fetch(cloud.admin + '/clock', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advance: seconds }),
  });
  const body = await resp.text();
  assert.equal(resp.status, 200, body);
  return JSON.parse(body).now;
}

// Sets a phone's clock to the cloud's, as a phone keeps to the network's time: the shared cloud's
// clock may have been moved on by an earlier test, and what the phone reads from the
// credentials' expiry must agree with the cloud that wrote it.
export async function onCloudTime(cloud, runtime) {
  const ahead = (await advanceCloudClock(cloud, 0)) * 1000 - Date.now();
  if (ahead > 0) runtime.advanceClock(ahead);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Starts warm instances of both functions (a login and a list, tried a few times). Moving the
// cloud's clock stops every idle instance, and a cold start on a loaded machine can overrun the
// function's timeout: a test that moved the clock warms the functions again before it measures
// the client, so what it sees is the client's behaviour, not a cold start.
export async function warmUp(cloud, tries = 4) {
  let last;
  for (let i = 0; i < tries; i++) {
    try {
      const { backend } = startPhone(cloud);
      await backend.listTodos(null, 1);
      return;
    } catch (err) {
      last = err;
      await sleep(500);
    }
  }
  throw new Error(`the functions did not warm up: ${JSON.stringify(last)}`);
}
