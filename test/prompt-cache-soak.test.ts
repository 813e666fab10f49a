/**
 * Soak (issue 20, item 0): a real server with a prompt cache far smaller than its traffic, so that
 * states are saved, loaded and evicted all the time, under concurrent streams for minutes. Every
 * stream must end with a finish reason and `[DONE]`, no request may fail, and the ledger must hold
 * one `ok` row per request. Before the fix, a load racing an eviction left a slot out of step with
 * llama.cpp and every batch it joined failed with 500 "Eval has failed".
 *
 * NIMBUS_SOAK_SECONDS sets the length (default 120).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();
const seconds = Number(process.env.NIMBUS_SOAK_SECONDS ?? 120);

/** A deterministic stream of numbers in [0, 1) (the soak is the same on every run). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

const words = 'the cat dog ran sun big red ball tree park girl boy happy sad played jumped sky blue green little house bird'.split(' ');

describe.skipIf(skip)('prompt cache soak', () => {
  let server: TestServer;
  beforeAll(async () => {
    // 1 MiB holds a dozen of stories260K's states; the traffic below has many more.
    server = await startTestServer({ slots: 4, maxQueue: 64, promptCacheMiB: 1 });
  });
  afterAll(async () => server?.stop());

  test(`concurrent streams over a small prompt cache for ${seconds} s: no request fails`, { timeout: (seconds + 120) * 1000 }, async () => {
    const next = random(7);
    const pick = (): string => words[Math.floor(next() * words.length)]!;
    // Twenty "system prompts" of 40 to 135 words; each request continues one of them.
    const prefixes = Array.from({ length: 20 }, (_, index) => Array.from({ length: 40 + index * 5 }, pick).join(' '));
    const outcomes = { ok: 0, failed: [] as string[], unfinished: 0 };
    const end = Date.now() + seconds * 1000;
    const client = async (id: number): Promise<void> => {
      for (let turn = 0; Date.now() < end; turn += 1) {
        const prefix = prefixes[Math.floor(next() * prefixes.length)]!;
        const maxTokens = 8 + Math.floor(next() * 32);
        try {
          let finish: string | null = null;
          if (turn % 2 === 0) {
            const stream = await server.client.chat.completions.create({
              model: 'stories',
              messages: [
                { role: 'system', content: prefix },
                { role: 'user', content: `${pick()} ${pick()} ${id}` },
              ],
              max_tokens: maxTokens,
              temperature: 0.8,
              stream: true,
            });
            for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
          } else {
            const stream = await server.client.completions.create({
              model: 'stories',
              prompt: `${prefix} ${pick()} ${id}`,
              max_tokens: maxTokens,
              temperature: 0.8,
              stream: true,
            });
            for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
          }
          if (finish === null) outcomes.unfinished += 1;
          else outcomes.ok += 1;
        } catch (error) {
          outcomes.failed.push((error as Error).message);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, id) => client(id)));
    const cache = server.nimbus.engine.loadedModel('stories')!.promptCache!;
    console.info(`prompt cache soak: ${outcomes.ok} streams in ${seconds} s, cache ${JSON.stringify(cache.stats)}`);
    // The cache did work the whole time: saving, evicting (far more saves than it holds) and restoring.
    expect(cache.stats.saved).toBeGreaterThan(100);
    expect(cache.stats.restored).toBeGreaterThan(10);
    expect(outcomes.failed).toEqual([]);
    expect(outcomes.unfinished).toBe(0);
    expect(outcomes.ok).toBeGreaterThan(100);
    // A stream that breaks after its first chunk reaches the client as an error event, which the
    // openai client throws; the ledger holds each request's own status too.
    await server.nimbus.store.flush();
    const rows = await server.nimbus.store.listRequests({ limit: 100_000 });
    expect(rows.filter((row) => row.status !== 'ok').map((row) => `${row.httpStatus} ${row.errorCode}`)).toEqual([]);
    expect(rows).toHaveLength(outcomes.ok);
  });
});
