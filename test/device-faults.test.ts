/**
 * Faults tell callers the truth at once (issue 17, item 7), through a `nimbus serve` process, its
 * embedded broker, virtual devices and a scripted model: a device lost mid-command fails it within
 * a second; a timeout is a 504 with the command's id and state; an Idempotency-Key runs a command
 * once (409 while it runs, the stored answer after); a chat whose later turn fails still returns
 * the actions taken; errors after a side effect say `x-should-retry: false`.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually } from './support/devices.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { startSafetyServer, startScriptedUpstream, type SafetyServer, type ScriptedUpstream } from './support/safety-rig.js';

let upstream: ScriptedUpstream;
let server: SafetyServer;
let admin: string;

beforeAll(async () => {
  upstream = await startScriptedUpstream();
  server = await startSafetyServer({ upstream, devices: { commandTimeoutMs: 4000 } });
  admin = await server.key(undefined, 'operator', { admin: true, devices: '*' });
  await server.addSim(admin, 'lamp', 'lamp-1');
  await server.addSim(admin, 'lamp', 'slow-1', { answers: 'never' });
  await server.addSim(admin, 'lamp', 'doomed-1', { answers: 'never' });
  await eventually(async () => expect((await server.api(admin, 'GET', '/v1/devices/doomed-1/twin')).body.connection).toBe('online'));
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await upstream?.close();
  killNimbusProcesses();
});

test('a device lost mid-command fails it within a second, not at the deadline', async () => {
  const doomed = server.sims.get('doomed-1')!;
  const started = Date.now();
  const pending = server.api(admin, 'PUT', '/v1/devices/doomed-1/properties/on', { value: true });
  await eventually(() => expect(doomed.received).toHaveLength(1));
  const lostAt = Date.now();
  doomed.crash();
  const answer = await pending;
  expect(Date.now() - lostAt).toBeLessThan(1500);
  expect(Date.now() - started).toBeLessThan(3500);
  expect(answer.body).toMatchObject({ status: 'failed', message: expect.stringMatching(/lost/) });
});

test('a timeout answers 504 with the command id and state, and says not to retry', async () => {
  const answer = await server.api(admin, 'PUT', '/v1/devices/slow-1/properties/brightness', { value: 10 });
  expect(answer.status).toBe(504);
  expect(answer.body.error).toMatchObject({ code: 'device_timeout', command: expect.stringMatching(/^cmd_/), state: 'timed_out' });
  expect(answer.headers.get('x-should-retry')).toBe('false');
  const command = await server.api(admin, 'GET', `/v1/devices/slow-1/commands/${answer.body.error.command}`);
  expect(command.body.state).toBe('timed_out');
});

test('an Idempotency-Key runs a command once: 409 while it runs, the stored answer after', async () => {
  const slow = server.sims.get('slow-1')!;
  const before = slow.received.length;
  const key = { 'idempotency-key': 'set-brightness-42' };
  const first = server.api(admin, 'PUT', '/v1/devices/slow-1/properties/brightness', { value: 42 }, key);
  await eventually(() => expect(slow.received.length).toBe(before + 1));
  const whileRunning = await server.api(admin, 'PUT', '/v1/devices/slow-1/properties/brightness', { value: 42 }, key);
  expect(whileRunning.status).toBe(409);
  await slow.answerLate(slow.received.at(-1)!.id, { brightness: 42 });
  const done = await first;
  expect(done.body).toMatchObject({ status: 'acked', command: expect.stringMatching(/^cmd_/) });
  const retry = await server.api(admin, 'PUT', '/v1/devices/slow-1/properties/brightness', { value: 42 }, key);
  expect([retry.status, retry.body, retry.headers.get('idempotent-replayed')]).toEqual([200, done.body, 'true']);
  expect(slow.received.length).toBe(before + 1);
  const reused = await server.api(admin, 'PUT', '/v1/devices/slow-1/properties/brightness', { value: 43 }, key);
  expect(reused.status).toBe(409);
  expect(reused.body.error.message).toMatch(/another request/);
});

test('a chat whose later turn fails returns the actions already taken, and says not to retry', async () => {
  upstream.play([
    { calls: [{ name: 'lamp-1__set_brightness', arguments: { value: 77 } }] },
    { status: 500 },
    { status: 500 },
    { status: 500 },
    { status: 500 },
  ]);
  const answer = await server.api(admin, 'POST', '/v1/chat/completions', {
    model: 'scripted',
    messages: [{ role: 'user', content: 'Brighter' }],
    nimbus: { devices: ['lamp-1'] },
  });
  expect(answer.status).toBeGreaterThanOrEqual(500);
  expect(answer.headers.get('x-should-retry')).toBe('false');
  expect(answer.body.nimbus.actions).toEqual([
    expect.objectContaining({ device: 'lamp-1', status: 'acked', state_after: expect.objectContaining({ brightness: 77 }) }),
  ]);
  expect(server.sims.get('lamp-1')!.state.brightness).toBe(77);
});
