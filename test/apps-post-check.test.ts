/**
 * An app's post-check run by the server (issue 23): a `nimbus serve` process, a scripted upstream
 * answering the sentence under test, the official `openai` client calling `app:NAME` on
 * /v1/responses, /v1/apps/NAME/responses and /v1/chat/completions. Dosing advice never reaches
 * the client (the check's refusal does, marked, with `content_filter` in the request log); a clean
 * answer passes unchanged; a stream gets the checked text in one piece, where the same upstream
 * streamed to a plain model call arrives word by word.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { medicalAdviceRefusal } from '../src/templates/literature-post-check.js';
import { eventually } from './support/devices.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { startSafetyServer, startScriptedUpstream, type SafetyServer, type ScriptedUpstream } from './support/safety-rig.js';

let upstream: ScriptedUpstream;
let server: SafetyServer;
let operator: string;
let client: OpenAI;

const dosing = 'You should take 1000 IU of vitamin D every day in winter [1].';
const clean = 'The abstracts do not cover melatonin or jet lag, so I cannot say what it does.';

beforeAll(async () => {
  upstream = await startScriptedUpstream();
  server = await startSafetyServer({ upstream });
  operator = await server.key(undefined, 'operator', { admin: true, devices: '*' });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: operator, maxRetries: 0 });
  const created = await server.api(operator, 'POST', '/v1/apps', {
    name: 'lit',
    model: 'scripted',
    instructions: 'Answer from the abstracts; never give dosing or diagnosis advice.',
    post_check: 'literature',
  });
  expect(created.status).toBe(201);
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await upstream?.close();
  killNimbusProcesses();
});

test('the config names a known check (a 400 naming post_check otherwise); the app’s GET says its answers are buffered', async () => {
  const refused = await server.api(operator, 'POST', '/v1/apps', { name: 'bad', model: 'scripted', post_check: 'no-such-check' });
  expect(refused.status).toBe(400);
  expect(refused.body.error).toMatchObject({ param: 'post_check', message: expect.stringContaining('known: literature') });
  const shown = await server.api(operator, 'GET', '/v1/apps/lit');
  expect(shown.body.post_check).toMatchObject({ name: 'literature', buffered: true, description: expect.stringContaining('dosing') });
  expect((await server.api(operator, 'GET', '/v1/apps')).body.data[0].post_check.buffered).toBe(true);
});

test('on /v1/responses dosing advice is replaced by the refusal, marked content_filter, logged and billed; a clean answer passes', async () => {
  upstream.play([{ text: dosing }]);
  const refused = await client.responses.create({ model: 'app:lit', input: 'How much vitamin D should I take?' });
  expect(refused.output_text).toBe(medicalAdviceRefusal);
  expect(refused.status).toBe('incomplete');
  expect(refused.incomplete_details).toEqual({ reason: 'content_filter' });
  expect((refused as unknown as { post_check: unknown }).post_check).toEqual({ name: 'literature', action: 'replaced', reasons: ['dosing_advice'] });
  // The stored response is the checked one.
  expect((await client.responses.retrieve(refused.id)).output_text).toBe(medicalAdviceRefusal);
  // The request log's row: served and billed as computed, finished as the content filter.
  const row = await eventually(async () => {
    const found = await server.api(operator, 'GET', `/v1/requests/${refused.id}`);
    expect(found.status).toBe(200);
    return found.body;
  });
  expect(row).toMatchObject({ status: 'ok', finish_reason: 'content_filter', app_id: 'lit', prompt_tokens: 10, completion_tokens: 5 });
  upstream.play([{ text: clean }]);
  const passed = await client.responses.create({ model: 'app:lit', input: 'Does melatonin help jet lag?' });
  expect(passed.output_text).toBe(clean);
  expect(passed.status).toBe('completed');
  expect((passed as unknown as { post_check: unknown }).post_check).toEqual({ name: 'literature', action: 'pass', reasons: [] });
});

test('POST /v1/apps/NAME/responses runs the same check', async () => {
  upstream.play([{ text: 'It sounds like you have sleep apnoea.' }]);
  const answer = await server.api(operator, 'POST', '/v1/apps/lit/responses', { input: 'I snore, what do I have?' });
  expect(answer.body.output[0].content[0].text).toBe(medicalAdviceRefusal);
  expect(answer.body.post_check).toEqual({ name: 'literature', action: 'replaced', reasons: ['diagnosis_advice'] });
});

test('a stream carries the checked text in one piece; the same upstream streams word by word to a plain model call', async () => {
  const deltas = async (model: string, text: string): Promise<string[]> => {
    upstream.play([{ text, words: true }]);
    const stream = await client.responses.create({ model, input: 'Tell me.', stream: true });
    const pieces: string[] = [];
    for await (const event of stream) if (event.type === 'response.output_text.delta') pieces.push(event.delta);
    return pieces;
  };
  expect((await deltas('scripted', clean)).length).toBeGreaterThan(2);
  expect(await deltas('app:lit', clean)).toEqual([clean]);
  // Nothing of the advice leaks before the check: the refusal is the only text sent.
  expect(await deltas('app:lit', dosing)).toEqual([medicalAdviceRefusal]);
});

test('on chat completions, whole and streamed: the refusal with finish_reason content_filter and nimbus.post_check', async () => {
  upstream.play([{ text: dosing }]);
  const whole = await client.chat.completions.create({ model: 'app:lit', messages: [{ role: 'user', content: 'How much vitamin D?' }] });
  expect(whole.choices[0]!.message.content).toBe(medicalAdviceRefusal);
  expect(whole.choices[0]!.finish_reason).toBe('content_filter');
  expect((whole as unknown as { nimbus: { post_check: unknown } }).nimbus.post_check).toEqual({
    name: 'literature',
    action: 'replaced',
    reasons: ['dosing_advice'],
  });
  upstream.play([{ text: clean, words: true }]);
  const stream = await client.chat.completions.create({ model: 'app:lit', messages: [{ role: 'user', content: 'Melatonin?' }], stream: true });
  const pieces: string[] = [];
  let finish: string | null = null;
  for await (const chunk of stream) {
    const content = chunk.choices[0]?.delta.content;
    if (content) pieces.push(content);
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  expect(pieces).toEqual([clean]);
  expect(finish).toBe('stop');
});
