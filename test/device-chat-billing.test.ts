/**
 * The device tool loop on the accounting path: every model turn is a billed call, reserved before
 * it runs, so a budget stops the loop at the turn it cannot pay for (one reservation used to
 * cover up to 16 turns, and its bill was capped at that one reservation). Real HTTP server,
 * SQLite ledger, embedded broker and a virtual lamp; scripted model turns.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Principal } from '../src/core/principal.js';
import { MemoryLimitCounters } from '../src/tenancy/memory-limit-counters.js';
import { LimitsGate } from '../src/tenancy/usage-gate.js';
import { eventually } from './support/devices.js';
import { startDeviceServer, type DeviceServer } from './support/device-server.js';

let server: DeviceServer;

beforeAll(async () => {
  const gate = new LimitsGate({
    counters: new MemoryLimitCounters(),
    clock: { now: () => Date.now(), monotonic: () => performance.now() },
    // $1 per million output tokens, input free: a scripted turn (5 completion tokens) costs exactly 5,000 nano-USD.
    prices: { models: { scripted: { input: 0, output: 1 } }, computePerHour: {} },
    // Two turns' worth for `ops`; nothing for the others.
    limitsOf: (principal: Principal) => ({ key: principal.keyId === 'key_ops' ? { costPerDayUsd: 10_000 / 1e9 } : {}, tenant: {} }),
    defaultMaxTokens: 4096,
    reserveSecondsPerToken: 0,
    leaseMs: 60_000,
    onSettleError: () => undefined,
  });
  server = await startDeviceServer({}, { gate });
  await server.addSim('lamp', 'lamp-1');
  await eventually(() => expect(server.devices.gateway.twin('acme', 'lamp-1').connection).toBe('online'));
});
afterAll(async () => server?.close());

test('each turn is reserved before it runs: a budget for two turns stops a loop of five at the third, and the ledger bills each turn once', async () => {
  const dim = { calls: [{ name: 'lamp-1__set_brightness', arguments: { value: 40 } }] };
  server.engine.play([dim, dim, dim, dim, dim]);
  const { status, body, headers } = await server.call('ops', 'POST', '/v1/chat/completions', {
    model: 'scripted',
    messages: [{ role: 'user', content: 'Dim the lamp, again and again.' }],
    max_tokens: 5,
    nimbus: { devices: ['lamp-1'], max_steps: 4, conversation: 'c-budget' },
  });
  expect(status).toBe(429);
  expect(body.error).toMatchObject({ code: 'insufficient_quota' });
  // Two turns ran; the third was refused before the engine saw it.
  expect(server.engine.requests).toHaveLength(2);
  const id = headers.get('x-request-id')!;
  expect(id).toMatch(/^chatcmpl-/);
  await server.store.flush();
  const rows = (await server.store.listRequests({ keyId: 'key_ops' })).sort((a, b) => a.createdAt - b.createdAt);
  expect(rows).toEqual([
    // The request's own row bills its first turn; its status is what the client got.
    expect.objectContaining({ id, parentId: null, httpStatus: 429, errorCode: 'insufficient_quota', completionTokens: 5, costNanoUsd: 5_000 }),
    expect.objectContaining({ parentId: id, status: 'ok', completionTokens: 5, costNanoUsd: 5_000 }),
    expect.objectContaining({ parentId: id, status: 'refused', httpStatus: 429, completionTokens: 0, costNanoUsd: 0 }),
  ]);
  expect(rows.reduce((sum, row) => sum + row.costNanoUsd, 0)).toBe(10_000);
});

test('a loop within its budget: one row per turn, the client sees the sum of their usage', async () => {
  server.engine.play([{ calls: [{ name: 'lamp-1__set_brightness', arguments: { value: 60 } }] }, { text: 'Done.' }]);
  const { status, body, headers } = await server.call('admin', 'POST', '/v1/chat/completions', {
    model: 'scripted',
    messages: [{ role: 'user', content: 'Set the lamp to 60%.' }],
    nimbus: { devices: ['lamp-1'] },
  });
  expect(status).toBe(200);
  expect(body.usage).toMatchObject({ prompt_tokens: 20, completion_tokens: 10 });
  const id = headers.get('x-request-id')!;
  await server.store.flush();
  const rows = (await server.store.listRequests({ keyId: 'key_admin' })).filter((row) => row.id === id || row.parentId === id);
  expect(rows).toHaveLength(2);
  expect(rows.map((row) => [row.promptTokens, row.completionTokens, row.status, row.costNanoUsd])).toEqual([
    [10, 5, 'ok', 5_000],
    [10, 5, 'ok', 5_000],
  ]);
});
