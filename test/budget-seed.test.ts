/**
 * Budgets start from the ledger, on one server with its SQLite store (`nimbus serve`, built, in
 * front of a scripted upstream): a budget added to a key that already spent counts that spend, a
 * restart keeps it, and a budget removed and added again counts what was spent in between.
 * Each call costs exactly one unit: 6 output tokens at $1 per million, max_tokens 6.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { FaultUpstream } from './support/fault-upstream.js';
import { killNimbusProcesses, startNimbusProcess, type NimbusProcess } from './support/nimbus-process.js';
import { budgetApi, unitsUsd } from './support/budget-api.js';

let upstream: FaultUpstream;
let server: NimbusProcess;
let args: string[];
let operator: string;

beforeAll(async () => {
  upstream = await FaultUpstream.start();
  const folder = mkdtempSync(join(tmpdir(), 'nimbus-budget-seed-'));
  const config = join(folder, 'nimbus.json');
  writeFileSync(
    config,
    JSON.stringify({
      providers: [{ id: 'fault', baseUrl: `${upstream.url}/v1` }],
      upstreamModels: [{ id: 'echo', provider: 'fault' }],
      prices: { echo: { input: 0, output: 1 } },
    }),
  );
  args = ['--config', config, '--database', `sqlite:${join(folder, 'nimbus.db')}`];
  server = await startNimbusProcess(args);
  operator = (await budgetApi(server.url).call('', 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true } })).body.key!;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  killNimbusProcesses();
  await upstream?.close();
});

test('a budget added to a key that spent counts the spend, after a restart too; removed and added again, it counts what was spent meanwhile', async () => {
  let api = budgetApi(server.url);
  const key = (await api.call(operator, 'POST', '/v1/keys', { name: 'late-budget' })).body;
  expect(await api.burst(key.key!, 4)).toEqual({ served: 4, refused: 0 });
  await api.flushed(operator, key.id!, 4);
  expect((await api.call(operator, 'PATCH', `/v1/keys/${key.id}`, { limits: { cost_per_day_usd: unitsUsd(10) } })).status).toBe(200);
  expect(await api.burst(key.key!, 10)).toEqual({ served: 6, refused: 4 });

  await api.flushed(operator, key.id!, 14);
  await server.stop();
  server = await startNimbusProcess(args);
  api = budgetApi(server.url);
  expect(await api.burst(key.key!, 2)).toEqual({ served: 0, refused: 2 });

  expect((await api.call(operator, 'PATCH', `/v1/keys/${key.id}`, { limits: { cost_per_day_usd: null } })).status).toBe(200);
  expect(await api.burst(key.key!, 2)).toEqual({ served: 2, refused: 0 });
  await api.flushed(operator, key.id!, 18);
  expect((await api.call(operator, 'PATCH', `/v1/keys/${key.id}`, { limits: { cost_per_day_usd: unitsUsd(13) } })).status).toBe(200);
  expect(await api.burst(key.key!, 4)).toEqual({ served: 1, refused: 3 });
});
