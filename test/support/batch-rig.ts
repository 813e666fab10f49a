/**
 * What the batch tests share: JSONL lines for each endpoint, a batch uploaded and created through
 * the official `openai` client, waiting for a status, reading the output and error files, and the
 * ledger rows of a batch read straight from the server's database (SQLite or PostgreSQL).
 */
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { toFile, type OpenAI } from 'openai';
import pg from 'pg';

export const storiesModel = 'stories260K';

/** One line of a batch's input file. */
export function chatLine(customId: string, body: Record<string, unknown> = {}): object {
  return {
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: storiesModel, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8, ...body },
  };
}

export function jsonl(lines: readonly object[]): string {
  return lines.map((line) => JSON.stringify(line)).join('\n') + '\n';
}

/** Uploads `lines` as a batch file and creates the batch. */
export async function createBatch(
  client: OpenAI,
  lines: readonly object[] | string,
  endpoint: OpenAI.Batches.BatchCreateParams['endpoint'] = '/v1/chat/completions',
) {
  const text = typeof lines === 'string' ? lines : jsonl(lines);
  const file = await client.files.create({ file: await toFile(Buffer.from(text), 'batch.jsonl'), purpose: 'batch' });
  return client.batches.create({ input_file_id: file.id, endpoint, completion_window: '24h', metadata: { test: 'yes' } });
}

/** Polls the batch until `done` says so (or the time runs out). */
export async function waitForBatch(
  client: OpenAI,
  id: string,
  done: (batch: OpenAI.Batches.Batch) => boolean,
  timeoutMs = 90_000,
): Promise<OpenAI.Batches.Batch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (done(batch)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} is still ${batch.status} (${JSON.stringify(batch.request_counts)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const ended = (batch: OpenAI.Batches.Batch): boolean => ['completed', 'failed', 'expired', 'cancelled'].includes(batch.status);

/** One line of an output or error file. */
export interface OutputLine {
  id: string;
  custom_id: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the body of whichever endpoint the batch called; the assertions check it
  response: { status_code: number; request_id: string; body: any } | null;
  error: { code: string; message: string } | null;
}

/** The lines of a batch's output or error file (none when it has no such file). */
export async function fileLines(client: OpenAI, fileId: string | null | undefined): Promise<OutputLine[]> {
  if (!fileId) return [];
  const text = await (await client.files.content(fileId)).text();
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as OutputLine);
}

/** A ledger row as the tests read it. */
export interface LedgerRow {
  id: string;
  status: string;
  kind: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost_nano_usd: number;
  batch_id: string | null;
  error_code: string | null;
}

/** The ledger rows of a batch, from the server's database (rows are written in batches: flushed ones only). */
export async function batchLedger(home: string, databaseUrl: string | undefined, batchId: string): Promise<LedgerRow[]> {
  const query =
    'select id, status, kind, prompt_tokens, completion_tokens, cached_tokens, cost_nano_usd, batch_id, error_code from request_log where batch_id = $1 order by id';
  if (databaseUrl) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const result = await client.query(query, [batchId]);
      return result.rows.map((row) => ({ ...row, cost_nano_usd: Number(row.cost_nano_usd) }));
    } finally {
      await client.end();
    }
  }
  const database = new SQLite(join(home, 'nimbus.db'), { readonly: true });
  try {
    return database.prepare(query.replace('$1', '?')).all(batchId) as LedgerRow[];
  } finally {
    database.close();
  }
}
