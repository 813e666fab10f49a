/**
 * A batch whose completion window passes (issue 29, item 4): a real `nimbus serve` process with
 * the window shortened to a few seconds (`batches.completionWindowSeconds`, a test override of
 * 24 h) and one line at a time on stories260K. The batch ends `expired` with `expired_at`; the
 * lines answered before are kept in the output file; every other line is in the error file as
 * `batch_expired` with no response; each custom_id is in exactly one of them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chatLine, createBatch, ended, fileLines, waitForBatch } from './support/batch-rig.js';
import { callJson } from './support/json-api.js';
import { killNimbusProcesses, startNimbusProcess, waitReady, type NimbusProcess } from './support/nimbus-process.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel();
afterAll(killNimbusProcesses);

const windowSeconds = 4;

describe.skipIf(skip)('batch expiry', () => {
  let server: NimbusProcess;
  let client: OpenAI;

  beforeAll(async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'nimbus-batch-expiry-')), 'nimbus.json');
    writeFileSync(config, JSON.stringify({ batches: { linesInFlight: 1, completionWindowSeconds: windowSeconds } }));
    server = await startNimbusProcess(['--config', config, '--model', storiesPath!, '--threads', '1', '--ctx', '512', '--slots', '1']);
    await waitReady(server.url);
    const operator = (await callJson(server.url, 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true } })).body.key as string;
    const key = (await callJson(server.url, 'POST', '/v1/keys', { name: 'researcher' }, operator)).body.key as string;
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0 });
  }, 120_000);

  afterAll(async () => server?.stop());

  test('the window passes: answered lines are kept, the rest are batch_expired error lines, status expired', async () => {
    // Far more work than the window allows at one line at a time (each line a few hundred tokens).
    const lines = Array.from({ length: 300 }, (_, index) => chatLine(`line-${index}`, { max_tokens: 300, temperature: 0.9 }));
    const created = await createBatch(client, lines);
    expect(created.expires_at! - created.created_at).toBe(windowSeconds);
    const batch = await waitForBatch(client, created.id, ended, 60_000);
    expect(batch.status).toBe('expired');
    expect(batch.expired_at).toBeGreaterThanOrEqual(created.created_at + windowSeconds - 1);

    const output = await fileLines(client, batch.output_file_id);
    const errors = await fileLines(client, batch.error_file_id);
    expect(output.length).toBeGreaterThan(0);
    expect(output.length).toBeLessThan(300);
    for (const line of output) expect(line.response?.status_code).toBe(200);
    for (const line of errors) {
      expect(line.response).toBeNull();
      expect(line.error).toMatchObject({ code: 'batch_expired', message: expect.stringContaining('expired') });
    }
    const ids = [...output, ...errors].map((line) => line.custom_id).sort();
    expect(ids).toEqual(lines.map((_, index) => `line-${index}`).sort());
    expect(batch.request_counts).toMatchObject({ total: 300, completed: output.length });
  }, 120_000);
});
