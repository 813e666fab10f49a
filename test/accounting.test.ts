/**
 * One accounting path, seen from outside: a real `nimbus serve` (built), the real model, a key
 * with limits, the official HTTP surface. Chat, text completions and embeddings each end in the
 * same records: one ledger row (with the replica that served and the route), one access-log line,
 * one live `request` event, and an answer carrying its id, the route and the rate-limit headers
 * (embeddings had none of these but the row). A fallback to a dearer model is reserved and billed
 * at that model's price, and the ledger keeps both names.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openEventStream } from './support/event-stream.js';
import { killNimbusProcesses, startNimbusProcess, waitReady, type NimbusProcess } from './support/nimbus-process.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel();

interface LedgerRow {
  id: string;
  kind: string;
  model: string;
  requested_model: string | null;
  status: string;
  http_status: number;
  served_by: string | null;
  route: string | null;
  completion_tokens: number;
  prompt_tokens: number;
  cost_nano_usd: number;
  key_id: string | null;
}

describe.skipIf(skip)('one accounting path for every billed call', () => {
  let server: NimbusProcess;
  let database: string;
  let operator: string;
  let key: string;

  const post = (path: string, body: object, as = key) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${as}` },
      body: JSON.stringify(body),
    });

  /** The ledger row with this id, once the server has flushed it (it writes in batches of up to 50 ms). */
  async function row(id: string): Promise<LedgerRow> {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const db = new SQLite(database, { readonly: true });
      try {
        const found = db.prepare('select * from request_log where id = ?').get(id) as LedgerRow | undefined;
        if (found) return found;
      } finally {
        db.close();
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no ledger row ${id}`);
  }

  beforeAll(async () => {
    const folder = mkdtempSync(join(tmpdir(), 'nimbus-accounting-'));
    database = join(folder, 'ledger.db');
    const config = join(folder, 'nimbus.json');
    writeFileSync(
      config,
      JSON.stringify({
        // $1 per million output tokens on the real model; the cheap one, whose only upstream is down, a thousandth of that.
        prices: { stories260K: { input: 0, output: 1 }, cheap: { input: 0, output: 0.001 } },
        providers: [{ id: 'down', baseUrl: 'http://127.0.0.1:9/v1', connectTimeoutMs: 500 }],
        upstreamModels: [{ id: 'cheap', provider: 'down' }],
        fallbacks: { cheap: ['stories260K'] },
        retry: { maxAttempts: 1 },
      }),
    );
    server = await startNimbusProcess(
      ['--model', storiesPath!, '--threads', '1', '--ctx', '512', '--slots', '2', '--log-level', 'info', '--database', `sqlite:${database}`],
      { NIMBUS_CONFIG: config },
    );
    await waitReady(server.url);
    // Ready as soon as one model is (the upstream one): wait for the local model itself.
    for (let attempt = 0; ; attempt += 1) {
      const listed = ((await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string }> }).data;
      if (listed.some((model) => model.id === 'stories260K')) break;
      if (attempt > 600) throw new Error('stories260K never loaded');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const admin = await post('/v1/keys', { name: 'operator', scopes: { admin: true } }, '');
    operator = ((await admin.json()) as { key: string }).key;
    const created = await post('/v1/keys', { name: 'metered', limits: { requests_per_minute: 1000, tokens_per_minute: 1_000_000 } }, operator);
    key = ((await created.json()) as { key: string }).key;
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    killNimbusProcesses();
  });

  const calls = [
    { kind: 'chat', path: '/v1/chat/completions', body: { model: 'stories260K', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 6 } },
    { kind: 'completion', path: '/v1/completions', body: { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 6 } },
    { kind: 'embedding', path: '/v1/embeddings', body: { model: 'stories260K', input: ['a little cat', 'a dog'] } },
  ];

  test.each(calls)('$kind: headers, one ledger row, one access line, one live event', async ({ kind, path, body }) => {
    const feed = await openEventStream(server.url, key);
    try {
      const response = await post(path, body);
      expect(response.status, await response.clone().text()).toBe(200);
      const id = response.headers.get('x-request-id')!;
      expect(id).toBeTruthy();
      expect(response.headers.get('x-nimbus-model')).toBe('stories260K');
      expect(response.headers.get('x-nimbus-route')).toBe('stories260K');
      expect(response.headers.get('x-ratelimit-limit-requests')).toBe('1000');
      const answer = (await response.json()) as { usage: { prompt_tokens: number } };
      const ledger = await row(id);
      expect(ledger).toMatchObject({
        kind,
        model: 'stories260K',
        requested_model: 'stories260K',
        status: 'ok',
        http_status: 200,
        prompt_tokens: answer.usage.prompt_tokens,
      });
      expect(ledger.served_by).toMatch(/^stories260K#/);
      const event = await feed.next((received) => received.type === 'request' && received.data.id === id);
      expect(event.data).toMatchObject({ kind, model: 'stories260K', status: 'ok', served_by: ledger.served_by });
      await expect
        .poll(
          () =>
            server
              .output()
              .split('\n')
              .filter((line) => line.includes(`"requestId":"${id}"`)).length,
        )
        .toBe(1);
      const line = JSON.parse(
        server
          .output()
          .split('\n')
          .find((text) => text.includes(`"requestId":"${id}"`))!,
      ) as Record<string, unknown>;
      expect(line).toMatchObject({ level: 30, requestId: id, model: 'stories260K', status: 'ok', msg: `${kind} ok` });
    } finally {
      feed.close();
    }
  });

  test('a refused embeddings call is a row that says refused, and its answer carries the request id and rate-limit headers', async () => {
    const created = await post('/v1/keys', { name: 'one a minute', limits: { requests_per_minute: 1 } }, operator);
    const limited = ((await created.json()) as { key: string }).key;
    expect((await post('/v1/embeddings', { model: 'stories260K', input: 'a' }, limited)).status).toBe(200);
    const refused = await post('/v1/embeddings', { model: 'stories260K', input: 'a' }, limited);
    expect(refused.status).toBe(429);
    const id = refused.headers.get('x-request-id')!;
    expect(id).toMatch(/^emb-/);
    expect(await row(id)).toMatchObject({ kind: 'embedding', status: 'refused', http_status: 429, cost_nano_usd: 0 });
  });

  test('a fallback to a dearer model is reserved and billed at its price: a budget for two answers admits exactly two', async () => {
    // Two answers of 6 tokens at the real model's $1 per million: 12,000 nano-USD.
    const created = await post('/v1/keys', { name: 'budget', limits: { cost_per_day_usd: 12_000 / 1e9 } }, operator);
    const budget = (await created.json()) as { key: string; id: string };
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => post('/v1/completions', { model: 'cheap', prompt: 'Once upon a time', max_tokens: 6, temperature: 0 }, budget.key)),
    );
    const served = answers.filter((answer) => answer.status === 200);
    expect(served).toHaveLength(2);
    expect(answers.filter((answer) => answer.status === 429)).toHaveLength(3);
    for (const answer of served) {
      expect(answer.headers.get('x-nimbus-model')).toBe('stories260K');
      const ledger = await row(answer.headers.get('x-request-id')!);
      expect(ledger).toMatchObject({ model: 'stories260K', requested_model: 'cheap', completion_tokens: 6, cost_nano_usd: 6_000 });
      expect(ledger.route).toContain('stories260K');
    }
    const usage = await fetch(`${server.url}/v1/usage?key=${budget.id}&group_by=model`, { headers: { authorization: `Bearer ${operator}` } });
    const data = ((await usage.json()) as { data: Array<{ model: string; cost_usd: number; completion_tokens: number }> }).data;
    expect(data.find((group) => group.model === 'stories260K')).toMatchObject({ completion_tokens: 12, cost_usd: 12_000 / 1e9 });
  });
});
