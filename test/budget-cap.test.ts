/**
 * A budget is a ceiling for upstream requests without `max_tokens`: admission reserves the
 * model's `defaultMaxTokens` and sends it upstream as the cap, in the field the provider takes,
 * so the answer ends with `finish_reason: "length"` inside the reservation and the ledger bills
 * what the upstream reports. Before, the reservation was made but no cap sent: one request passed
 * a token budget 2x, and the bill was capped at the quote. A real Nimbus process serving
 * stories260K is the upstream (it honours max_tokens and generates to its context without it);
 * a recording upstream shows the field each provider gets.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';
import { startNimbusProcess, waitReady, type NimbusProcess } from './support/nimbus-process.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();

/** An OpenAI-compatible server that answers every chat with one word and keeps the bodies it got. */
async function recordingUpstream(): Promise<{ url: string; bodies: Array<Record<string, unknown>>; server: Server }> {
  const bodies: Array<Record<string, unknown>> = [];
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      bodies.push(JSON.parse(text) as Record<string, unknown>);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          id: 'chatcmpl-recorded',
          object: 'chat.completion',
          created: 1,
          model: 'm',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, bodies, server };
}

describe.skipIf(skip)('the reserved cap goes upstream', () => {
  let upstream: NimbusProcess;
  let recorder: Awaited<ReturnType<typeof recordingUpstream>>;
  let gateway: TestServer;
  let key: string;
  let keyId: string;
  let roomy: string;
  let operator: string;

  const chat = (model: string, extra: Record<string, unknown> = {}, as = key) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${as}` },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Once upon a time' }], temperature: 0, ...extra }),
    });

  beforeAll(async () => {
    upstream = await startNimbusProcess(['--model', storiesPath!, '--threads', '1', '--ctx', '512', '--slots', '2']);
    await waitReady(upstream.url);
    recorder = await recordingUpstream();
    gateway = await startTestServer({
      mqttUrl: 'off',
      providers: [
        { id: 'nimbus-b', baseUrl: `${upstream.url}/v1` },
        { id: 'plain', baseUrl: recorder.url },
        { id: 'reasoning', baseUrl: recorder.url, maxTokensField: 'max_completion_tokens' },
      ],
      upstreamModels: [
        { id: 'remote-stories', provider: 'nimbus-b', upstreamModel: 'stories260K', defaultMaxTokens: 20 },
        { id: 'plain-model', provider: 'plain' },
        { id: 'o-model', provider: 'reasoning' },
      ],
      prices: { 'remote-stories': { input: 0, output: 1 } },
    });
    const admin = await gateway.nimbus.app.inject({ method: 'POST', url: '/v1/keys', payload: { name: 'operator', scopes: { admin: true } } });
    operator = admin.json<{ key: string }>().key;
    // Room for one reservation (prompt bound + 20) and little more: without the cap, the upstream's ~480 tokens pass it.
    const created = await gateway.nimbus.app.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: { authorization: `Bearer ${operator}` },
      payload: { name: 'budgeted', limits: { tokens_per_day: 400 } },
    });
    ({ key, id: keyId } = created.json<{ key: string; id: string }>());
    const large = await gateway.nimbus.app.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: { authorization: `Bearer ${operator}` },
      payload: { name: 'roomy', limits: { tokens_per_day: 1_000_000_000 } },
    });
    roomy = large.json<{ key: string }>().key;
  }, 120_000);
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.stop();
    recorder?.server.close();
  });

  test('a request without max_tokens under a token budget is cut at the model defaultMaxTokens, and the ledger counts what was used', async () => {
    const response = await chat('remote-stories');
    expect(response.status, await response.clone().text()).toBe(200);
    const body = (await response.json()) as { choices: Array<{ finish_reason: string }>; usage: { completion_tokens: number; prompt_tokens: number } };
    expect(body.choices[0]!.finish_reason).toBe('length');
    expect(body.usage.completion_tokens).toBe(20);
    await gateway.nimbus.store.flush();
    const [row] = await gateway.nimbus.store.listRequests({ keyId, limit: 1 });
    expect(row).toMatchObject({ status: 'ok', completionTokens: 20, costNanoUsd: 20_000, usageEstimated: false });
    // What was spent is within the budget: the next request that cannot fit is refused.
    expect(row!.promptTokens + row!.completionTokens).toBeLessThanOrEqual(400);
  });

  test('the cap goes in the field each provider takes; a client cap is moved there too; no limit, no cap', async () => {
    recorder.bodies.length = 0;
    expect((await chat('plain-model', {}, roomy)).status).toBe(200);
    expect((await chat('o-model', {}, roomy)).status).toBe(200);
    expect((await chat('o-model', { max_tokens: 7 }, roomy)).status).toBe(200);
    expect((await chat('plain-model', { max_completion_tokens: 9 }, roomy)).status).toBe(200);
    // The operator's key has no limit: nothing is reserved, nothing capped.
    expect((await chat('plain-model', {}, operator)).status).toBe(200);
    const [plain, reasoning, moved, plainMoved, unlimited] = recorder.bodies;
    expect(unlimited).not.toHaveProperty('max_tokens');
    expect(unlimited).not.toHaveProperty('max_completion_tokens');
    expect(plain).toMatchObject({ max_tokens: 4096 });
    expect(plain).not.toHaveProperty('max_completion_tokens');
    expect(reasoning).toMatchObject({ max_completion_tokens: 4096 });
    expect(reasoning).not.toHaveProperty('max_tokens');
    expect(moved).toMatchObject({ max_completion_tokens: 7 });
    expect(moved).not.toHaveProperty('max_tokens');
    expect(plainMoved).toMatchObject({ max_tokens: 9 });
    expect(plainMoved).not.toHaveProperty('max_completion_tokens');
  });
});
