/**
 * A batch survives its server: a real `nimbus serve` process is SIGKILLed twice mid-batch (and
 * once stopped with SIGTERM) and started again on the same home. The batch completes; every
 * custom_id is in the output exactly once; every line is billed once (one `ok` ledger row per
 * line, over all its tries, and it is the row the output names); nothing is billed twice.
 */
import OpenAI from 'openai';
import { afterAll, expect, test } from 'vitest';
import { batchLedger, chatLine, createBatch, ended, fileLines, waitForBatch } from './support/batch-rig.js';
import { killNimbusProcesses, startNimbusProcess, waitReady, type NimbusProcess } from './support/nimbus-process.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const noModel = skipWithoutSharedModel();
afterAll(killNimbusProcesses);

const lines = 40;
const args = ['--model', storiesPath ?? '', '--threads', '1', '--ctx', '512', '--slots', '2'];

async function start(home?: string): Promise<{ server: NimbusProcess; client: OpenAI }> {
  const server = await startNimbusProcess(args, {}, home);
  await waitReady(server.url);
  return { server, client: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'local', maxRetries: 0 }) };
}

async function exit(server: NimbusProcess, signal: NodeJS.Signals): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill(signal);
  await exited;
}

test.skipIf(noModel)(
  'SIGKILL twice and SIGTERM once mid-batch: each custom_id exactly once in the output, each line billed once',
  async () => {
    let { server, client } = await start();
    const home = server.home;
    const created = await createBatch(
      client,
      Array.from({ length: lines }, (_, index) => chatLine(`line-${index}`, { max_tokens: 24, temperature: 0.8 })),
    );
    const stops: Array<[NodeJS.Signals, number]> = [
      ['SIGKILL', 4],
      ['SIGTERM', 14],
      ['SIGKILL', 24],
    ];
    for (const [signal, after] of stops) {
      await waitForBatch(client, created.id, (batch) => (batch.request_counts?.completed ?? 0) >= after || ended(batch));
      await exit(server, signal);
      ({ server, client } = await start(home));
    }
    const batch = await waitForBatch(client, created.id, ended, 240_000);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: lines, completed: lines, failed: 0 });
    const output = await fileLines(client, batch.output_file_id);
    expect(output.map((line) => line.custom_id).sort()).toEqual(Array.from({ length: lines }, (_, index) => `line-${index}`).sort());
    expect(await fileLines(client, batch.error_file_id)).toEqual([]);

    await exit(server, 'SIGTERM');
    const rows = await batchLedger(home, undefined, batch.id);
    const okRows = rows.filter((row) => row.status === 'ok');
    // One ok row per line, whatever tries it took (batch_req_<batch>_<index>[.<try>]).
    const lineOf = (id: string): string => id.replace(/\.\d+$/, '');
    expect(new Set(okRows.map((row) => lineOf(row.id))).size).toBe(okRows.length);
    expect(okRows).toHaveLength(lines);
    // The output names the billed row of each line.
    expect(output.map((line) => line.response!.request_id).sort()).toEqual(okRows.map((row) => row.id).sort());
    // Rows of tries that were cut (SIGTERM's cut lines) are not ok rows, and there are none past the lines run again.
    for (const row of rows.filter((row) => row.status !== 'ok')) expect(row.status).toBe('cancelled');
  },
  400_000,
);
