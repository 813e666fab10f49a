/**
 * What a stored response's write costs the request thread (decision 0020), in one process on
 * SQLite files, three ways in turn per round: before (Kysely's transaction on the request thread,
 * the JSON stringified once more to count the bytes, as `ResponseRecords.save` did), the
 * fallback (prepared statements in one synchronous transaction on the request thread) and after
 * (the ledger thread). Each write also queues a ledger row, as a response does, so the ledger
 * thread commits its batches meanwhile. It prints the request thread's CPU per write (Linux
 * /proc: the figure a loaded machine distorts least) and the time until the write is committed,
 * and after over before per round.
 *
 * Loads the built dist/ (what `nimbus serve` runs; the ledger thread's worker is its compiled
 * source): `npm run build && npx tsx bench/responses-write.ts [--writes 2000] [--rounds 3] [--concurrency 16]`
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { NewResponse } from '../src/core/response-store.js';
import type { RequestLogEntry, Store } from '../src/core/store.js';
import type * as ResponseStoreModule from '../src/store/kysely-response-store.js';
import type { Database } from '../src/store/schema.js';
import type * as SqliteStoreModule from '../src/store/sqlite/open-sqlite-store.js';
import { report, repoRoot } from './support.js';

const { values } = parseArgs({
  options: { writes: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '1' } },
});
const writes = Number(values.writes);
// Writes started together, as responses finishing at once under concurrent load are (decision 0021 groups them).
const concurrency = Number(values.concurrency);
const built = (path: string): string => pathToFileURL(join(repoRoot, 'dist', path)).href;
const { openSqliteStore } = (await import(built('store/sqlite/open-sqlite-store.js'))) as typeof SqliteStoreModule;
const { KyselyResponseStore } = (await import(built('store/kysely-response-store.js'))) as typeof ResponseStoreModule;
const folder = mkdtempSync(join(tmpdir(), 'nimbus-bench-responses-write-'));

/** Microseconds of CPU the main thread has used (/proc counts in 10 ms ticks). */
function mainThreadCpuUs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** A response as stories260K answers the overhead bench's turn (16 tokens). */
const body = {
  object: 'response',
  created_at: 1_765_000_000,
  status: 'completed',
  background: false,
  error: null,
  incomplete_details: null,
  instructions: null,
  max_output_tokens: 16,
  max_tool_calls: null,
  model: 'stories260K',
  output: [
    {
      id: 'msg_x_0',
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: ' there was a little girl named Lily. She loved to play outside in the sun', annotations: [], logprobs: [] }],
    },
  ],
  parallel_tool_calls: true,
  previous_response_id: null,
  reasoning: { effort: null, summary: null },
  service_tier: 'default',
  store: true,
  temperature: 0,
  text: { format: { type: 'text' }, verbosity: 'medium' },
  tool_choice: 'auto',
  tools: [],
  top_p: 1,
  truncation: 'disabled',
  usage: { input_tokens: 5, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 21 },
  user: null,
  metadata: {},
};
const inputItems = [{ id: 'msg_in', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: 'Once upon a time' }] }];
let counter = 0;
function response(): NewResponse {
  const id = `resp_${counter++}`;
  return {
    id,
    tenantId: 'local',
    keyId: null,
    createdAt: Date.now(),
    expiresAt: Date.now() + 1e9,
    status: 'completed',
    previousResponseId: null,
    body: { id, ...body },
    inputItems,
  };
}
function ledgerRow(id: string): RequestLogEntry {
  return {
    id,
    createdAt: Date.now(),
    kind: 'response',
    model: 'stories260K',
    httpStatus: 200,
    status: 'ok',
    promptTokens: 5,
    completionTokens: 16,
    cachedTokens: 0,
    ttftMs: 1,
    durationMs: 6,
    finishReason: 'stop',
    stream: false,
    errorCode: null,
    servedBy: 'stories260K',
    route: null,
    usageEstimated: false,
    tenantId: 'local',
    keyId: null,
    deployment: null,
    worker: null,
    deviceClass: 'cpu',
    computeSeconds: 0.006,
    costNanoUsd: 0,
    requestedModel: 'stories260K',
    parentId: null,
    appId: null,
    appVersion: null,
    batchId: null,
  };
}

/**
 * `writes` writes, `concurrency` at a time: the request thread's CPU, every thread's CPU (the
 * ledger thread's commits included) and the time to committed, each per write.
 */
async function measure(store: Store, put: (written: NewResponse) => Promise<unknown>): Promise<{ cpuUs: number; allCpuUs: number; wallUs: number }> {
  for (let index = 0; index < 200; index += 1) await put(response());
  const cpu = mainThreadCpuUs();
  const all = process.cpuUsage();
  const started = performance.now();
  for (let index = 0; index < writes; index += concurrency) {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, writes - index) }, () => {
        const written = response();
        store.recordRequest(ledgerRow(written.id));
        return put(written);
      }),
    );
  }
  const used = process.cpuUsage(all);
  return { cpuUs: (mainThreadCpuUs() - cpu) / writes, allCpuUs: (used.user + used.system) / writes, wallUs: ((performance.now() - started) * 1000) / writes };
}

for (let round = 0; round < Number(values.rounds); round += 1) {
  const path = (name: string): string => join(folder, `${name}-${round}.db`);
  const beforeStore = await openSqliteStore(path('before'));
  const kysely = new KyselyResponseStore(new Kysely<Database>({ dialect: new SqliteDialect({ database: new SQLite(path('before')) }) }));
  const before = await measure(beforeStore, (written) => {
    // ResponseRecords.save counted the bytes from a JSON of its own before the store made another.
    Buffer.byteLength(JSON.stringify(written.body));
    Buffer.byteLength(JSON.stringify(written.inputItems));
    return kysely.putResponse(written);
  });
  const inlineStore = await openSqliteStore(path('inline'), { ledgerThread: false });
  const inline = await measure(inlineStore, (written) => inlineStore.responses.putResponse(written));
  const afterStore = await openSqliteStore(path('after'));
  const after = await measure(afterStore, (written) => afterStore.responses.putResponse(written));
  report(`responses-write round ${round}`, {
    after_vs_before_main_thread_cpu: after.cpuUs / before.cpuUs,
    before_cpu_us: before.cpuUs,
    inline_cpu_us: inline.cpuUs,
    after_cpu_us: after.cpuUs,
    before_all_threads_cpu_us: before.allCpuUs,
    after_all_threads_cpu_us: after.allCpuUs,
    before_committed_us: before.wallUs,
    inline_committed_us: inline.wallUs,
    after_committed_us: after.wallUs,
    writes,
    concurrency,
    load1: loadavg()[0]!,
  });
  await Promise.all([beforeStore.close(), inlineStore.close(), afterStore.close()]);
}
