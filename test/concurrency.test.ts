/** Many streams at once through the batching engine; a client that leaves frees its slot at once. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();

describe.skipIf(skip)('concurrency', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ slots: 4, maxQueue: 32 });
  });
  afterAll(async () => server?.stop());

  test('16 concurrent streams all complete', async () => {
    const results = await Promise.all(
      Array.from({ length: 16 }, async (_, index) => {
        const stream = await server.client.chat.completions.create({
          model: 'stories',
          messages: [{ role: 'user', content: `Story number ${index}` }],
          max_tokens: 32,
          temperature: 0.8,
          seed: index,
          stream: true,
          stream_options: { include_usage: true },
        });
        let text = '';
        let completionTokens = 0;
        let finish: string | null = null;
        for await (const chunk of stream) {
          text += chunk.choices[0]?.delta.content ?? '';
          finish = chunk.choices[0]?.finish_reason ?? finish;
          if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
        }
        return { text, completionTokens, finish };
      }),
    );
    for (const result of results) {
      expect(result.finish).not.toBeNull();
      expect(result.completionTokens).toBeGreaterThan(0);
    }
    // Nothing left running or waiting (the load also carries the batch yield and resume counters).
    expect(server.nimbus.engine.load()).toMatchObject({ active: 0, queued: 0 });
  });

  test('past slots plus queue, requests get 429 queue_full, and the rest complete', async () => {
    const small = await startTestServer({ slots: 1, maxQueue: 1 });
    try {
      const attempts = await Promise.allSettled(
        Array.from({ length: 4 }, () => small.client.completions.create({ model: 'stories', prompt: 'Once', max_tokens: 400, temperature: 0 })),
      );
      const refused = attempts.filter((attempt) => attempt.status === 'rejected');
      expect(attempts.filter((attempt) => attempt.status === 'fulfilled')).toHaveLength(2);
      expect(refused).toHaveLength(2);
      for (const attempt of refused) expect(attempt.reason).toMatchObject({ status: 429, code: 'queue_full' });
    } finally {
      await small.stop();
    }
  });

  test('an aborted stream frees its slot for the next request, and is logged with the tokens it got', async () => {
    const single = await startTestServer({ slots: 1, maxQueue: 4 });
    try {
      const controller = new AbortController();
      const stream = await single.client.completions.create(
        { model: 'stories', prompt: 'Once upon a time', max_tokens: 400, temperature: 0, stream: true },
        { signal: controller.signal },
      );
      let chunks = 0;
      try {
        for await (const chunk of stream) {
          expect(chunk.object).toBe('text_completion');
          chunks += 1;
          if (chunks === 3) controller.abort();
        }
      } catch {
        // the client reports its own abort
      }
      const started = performance.now();
      const next = await single.client.completions.create({ model: 'stories', prompt: 'The cat', max_tokens: 4, temperature: 0 });
      expect(next.choices[0]!.text.length).toBeGreaterThan(0);
      // 400 tokens at ~1.5k tokens/s would hold the only slot for a quarter second or more.
      expect(performance.now() - started).toBeLessThan(1000);
      await single.nimbus.store.flush();
      const rows = await single.nimbus.store.listRequests();
      const cancelled = rows.find((row) => row.status === 'cancelled');
      expect(cancelled).toBeDefined();
      expect(cancelled!.completionTokens).toBeGreaterThan(0);
      expect(cancelled!.completionTokens).toBeLessThan(400);
    } finally {
      await single.stop();
    }
  });
});
