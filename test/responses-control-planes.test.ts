/**
 * Stored responses across control planes, as real processes: two `nimbus serve` on one fresh
 * PostgreSQL database, the official `openai` client on each. The next request, sent the moment an
 * answer is in and routed to the other plane, must find the response (so on a shared store the
 * answer waits for its write's commit, decision 0020): retrieve, input items, a
 * continuation by `previous_response_id`, and delete, each on the plane that did not write it.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { killNimbusProcesses, startNimbusProcess, waitReady, type NimbusProcess } from './support/nimbus-process.js';
import { createTestDatabase, skipWithoutPostgres } from './support/services.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel();
let database: { url: string; drop(): Promise<void> } | undefined;
let planes: NimbusProcess[] = [];

beforeAll(async () => {
  if (skip || (await skipWithoutPostgres())) return;
  database = await createTestDatabase();
  const start = (): Promise<NimbusProcess> => startNimbusProcess(['--model', storiesPath!, '--log-level', 'warn'], { NIMBUS_DATABASE_URL: database!.url });
  planes = [await start(), await start()];
  await Promise.all(planes.map((plane) => waitReady(plane.url)));
}, 120_000);

afterAll(async () => {
  await Promise.all(planes.map((plane) => plane.stop()));
  killNimbusProcesses();
  await database?.drop();
});

test('a response answered by one plane is found at once by the other: retrieve, items, a continuation, delete', async (context) => {
  if (!database) return context.skip();
  const [a, b] = planes.map((plane) => new OpenAI({ baseURL: `${plane.url}/v1`, apiKey: 'local', maxRetries: 0 })) as [OpenAI, OpenAI];
  const model = (await a.models.list()).data[0]!.id;
  for (let round = 0; round < 2; round += 1) {
    const [writer, reader] = round % 2 === 0 ? [a, b] : [b, a];
    const first = await writer.responses.create({ model, input: `Once upon a time ${round}`, max_output_tokens: 4, temperature: 0 });
    const seen = await reader.responses.retrieve(first.id);
    expect(seen).toMatchObject({ id: first.id, status: first.status });
    const second = await reader.responses.create({ model, input: 'and then', previous_response_id: first.id, max_output_tokens: 4, temperature: 0 });
    const items = await writer.responses.inputItems.list(second.id);
    expect(items.data.map((item) => (item as { content?: Array<{ text?: string }> }).content?.[0]?.text)).toContain('and then');
    await writer.responses.delete(second.id);
    await expect(reader.responses.retrieve(second.id)).rejects.toMatchObject({ status: 404 });
  }
}, 120_000);
