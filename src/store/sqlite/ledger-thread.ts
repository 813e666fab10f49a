/**
 * The SQLite ledger's writes on their own thread. An insert of one request-log row costs about
 * 20 µs of CPU (statement, three indexes, the WAL page), which on the request thread is a tenth
 * of what a gateway request costs in all; handing a batch to a worker thread costs about 1.5 µs
 * a row (bench/gateway.ts, docs/decisions/0009-gateway-hot-path.md). The worker opens its own
 * connection to the same file (WAL mode lets it write while the request thread reads) and
 * answers each batch once it is committed, so `Store.flush()` still means "queryable now".
 *
 * The worker's code is a function serialized into an eval'd worker: it runs the same from the
 * built dist/ and from TypeScript under the test runner, and it may use nothing from this module.
 */
import { createRequire } from 'node:module';
import type * as WorkerThreads from 'node:worker_threads';
import { Worker } from 'node:worker_threads';
import type SQLiteDriver from 'better-sqlite3';
import { encodeRequestLogBatch, type RequestLogWriter } from '../kysely-store.js';

interface Batch {
  id: number;
  /**
   * The rows as one JSON array of rows, each the array of its values in the statement's order
   * (`encodeRequestLogRow`). A string crosses to the worker as one copy: the structured clone of
   * row objects cost the request thread ~3 µs a row here, and the worker as much again.
   */
  rows: string;
}

type Answer = { id: number; error?: string } | { ready: true } | { failed: string };

/**
 * Whether an insert failed because of its row (a constraint, a value SQLite will not take) rather
 * than the database (busy, full, I/O): only those are skipped, the rest fail the batch as before.
 * Also runs inside the worker (its source goes into the eval'd code).
 */
function isRowError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG');
}

/**
 * Inserts rows (each its values in the statement's order) through one prepared statement, a
 * transaction per 100 rows: the request thread's own writes (keys, pool, devices) wait for the
 * write lock while a transaction runs, blocking its event loop, so a burst is committed in short
 * transactions (~2 ms each here) rather than one long one. A row SQLite refuses (`isRowError`)
 * fails its own statement, not the transaction: the rest are kept, and the answer says how many
 * were refused (undefined when none). Runs on the ledger thread (its source goes into the eval'd
 * code) and, where that thread cannot start, on the request thread.
 */
export function batchInserter(database: SQLiteDriver.Database, sql: string): (rows: unknown[][]) => string | undefined {
  const insert = database.prepare(sql);
  let reason = '';
  const insertAll = database.transaction((rows: unknown[][]) => {
    let refused = 0;
    for (const row of rows) {
      try {
        insert.run(row);
      } catch (error) {
        if (!isRowError(error)) throw error;
        refused += 1;
        reason = (error as Error).message;
      }
    }
    return refused;
  });
  return (rows) => {
    let refused = 0;
    for (let start = 0; start < rows.length; start += 100) refused += insertAll(rows.slice(start, start + 100));
    return refused > 0 ? `${refused} of ${rows.length} rows refused: ${reason}` : undefined;
  };
}

/** Runs inside the worker: one connection, and `batchInserter` on each batch. */
function ledgerWorker(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an eval'd worker has no import
  const { parentPort, workerData } = require('node:worker_threads') as typeof WorkerThreads;
  const data = workerData as { driver: string; path: string; sql: string };
  const port = parentPort!;
  let write: (rows: unknown[][]) => string | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the driver's path comes from the request thread
    const SQLite = require(data.driver) as typeof SQLiteDriver;
    const database = new SQLite(data.path);
    database.pragma('busy_timeout = 5000');
    database.pragma('synchronous = NORMAL');
    write = batchInserter(database, data.sql);
  } catch (error) {
    port.postMessage({ failed: (error as Error).message });
    return;
  }
  port.postMessage({ ready: true });
  port.on('message', (batch: Batch) => {
    try {
      const refused = write(JSON.parse(batch.rows) as unknown[][]);
      port.postMessage(refused === undefined ? { id: batch.id } : { id: batch.id, error: refused });
    } catch (error) {
      port.postMessage({ id: batch.id, error: (error as Error).message });
    }
  });
}

/**
 * A RequestLogWriter whose inserts run on a worker thread. `start` resolves once the worker has
 * its statement ready, and rejects when it cannot open the file (the caller then writes on the
 * request thread).
 */
export class LedgerThread implements RequestLogWriter {
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker) {
    // Held only while batches are in flight: an idle ledger must not keep the process alive, a busy one must.
    worker.unref();
    worker.on('message', (answer: Answer) => {
      if (!('id' in answer)) return;
      const waiter = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      if (this.waiting.size === 0) worker.unref();
      if (answer.error === undefined) waiter?.resolve();
      else waiter?.reject(new Error(answer.error));
    });
    // A worker that dies takes its batches with it: they fail (and are reported), later ones too.
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`the ledger thread exited (code ${code})`)));
  }

  /** `sql` inserts one row with positional parameters, in the order of an encoded row's values. */
  static start(path: string, sql: string): Promise<LedgerThread> {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const source = `${isRowError.toString()}\n${batchInserter.toString()}\n(${ledgerWorker.toString()})()`;
    const worker = new Worker(source, { eval: true, workerData: { driver, path, sql } });
    return new Promise((resolve, reject) => {
      const onMessage = (answer: Answer): void => {
        worker.off('error', onError);
        worker.off('message', onMessage);
        if ('ready' in answer) resolve(new LedgerThread(worker));
        else {
          void worker.terminate();
          reject(new Error('failed' in answer ? answer.failed : 'the ledger thread did not start'));
        }
      };
      const onError = (error: Error): void => {
        worker.off('message', onMessage);
        reject(error);
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
    });
  }

  /** Resolves once the batch is committed; rejects with the worker's error. */
  write(rows: readonly string[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    if (this.waiting.size === 0) this.worker.ref();
    const json = encodeRequestLogBatch(rows);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, rows: json } satisfies Batch);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('the ledger thread is closed');
    await this.worker.terminate();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
