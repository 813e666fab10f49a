/**
 * Per-model routing over upstream replicas, through the official client: each model name spreads
 * over its replicas by its own policy. Round-robin alternates; prefix-cache sends prompts that
 * share their leading blocks to the replica that already holds them (and spreads unrelated ones);
 * session affinity keeps one `user` on one replica. Both upstreams answer normally and record
 * every request, so the test reads where each one went.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FaultUpstream } from './support/fault-upstream.js';
import { startTestServer, type TestServer } from './support/test-server.js';

let a: FaultUpstream;
let b: FaultUpstream;
let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  a = await FaultUpstream.start();
  b = await FaultUpstream.start();
  server = await startTestServer({
    models: [],
    mqttUrl: 'off',
    providers: [
      { id: 'a', baseUrl: `${a.url}/v1` },
      { id: 'b', baseUrl: `${b.url}/v1` },
    ],
    upstreamModels: [
      { id: 'plain', provider: 'a' },
      { id: 'plain', provider: 'b' },
      { id: 'cached', provider: 'a', routing: 'prefix-cache' },
      { id: 'cached', provider: 'b', routing: 'prefix-cache' },
      { id: 'sticky', provider: 'a', routing: 'session-affinity' },
      { id: 'sticky', provider: 'b' },
    ],
    routing: { prefixBlockChars: 64 },
  });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  await server?.stop();
  await a?.close();
  await b?.close();
});

/** Which upstream served each of the requests made by `run`, in order. */
async function servedBy(run: () => Promise<unknown>): Promise<string> {
  const before = { a: a.requests.length, b: b.requests.length };
  await run();
  if (a.requests.length > before.a) return 'a';
  if (b.requests.length > before.b) return 'b';
  throw new Error('no upstream saw the request');
}

const ask = (model: string, content: string, user?: string) => () =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content }], ...(user ? { user } : {}) });

describe('per-model routing over upstream replicas', () => {
  test('a model without a policy is round-robin: consecutive requests alternate', async () => {
    const order: string[] = [];
    for (let index = 0; index < 4; index += 1) order.push(await servedBy(ask('plain', 'The same question every time, long enough to span blocks.')));
    expect(new Set(order).size).toBe(2);
    expect(order[0]).not.toBe(order[1]);
    expect(order[1]).not.toBe(order[2]);
  });

  test('prefix-cache: prompts sharing their leading blocks go to one replica; unrelated ones spread', async () => {
    const document = 'Chapter one. The fox ran over the hill and met a bear in the woods. '.repeat(8);
    const homes = new Set<string>();
    for (const question of ['Who ran?', 'Who was met?', 'Where?', 'When?', 'Why?']) homes.add(await servedBy(ask('cached', `${document}\n${question}`)));
    expect(homes.size).toBe(1);

    const spread = new Set<string>();
    for (let index = 0; index < 24; index += 1)
      spread.add(await servedBy(ask('cached', `Unrelated story number ${index}: ${'a tale of many things. '.repeat(4)}`)));
    expect(spread).toEqual(new Set(['a', 'b']));
  });

  test('session affinity: one user stays on one replica', async () => {
    for (const user of ['alice', 'bob', 'carol']) {
      const homes = new Set<string>();
      for (let index = 0; index < 4; index += 1) homes.add(await servedBy(ask('sticky', `Question ${index}`, user)));
      expect(homes.size).toBe(1);
    }
  });
});
