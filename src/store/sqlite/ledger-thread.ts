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
 *
 * The same connection also answers the ledger's reads (`GET /v1/usage`, budget seeding) and
 * prunes it: a read over a large ledger then costs the request thread nothing but the answer, so
 * it never stalls serving (on the request thread one such read stalled `/healthz` for 0.4 to 1 s).
 * It also commits stored responses (`transact`, sqlite-response-writer.ts, decision 0020): one
 * writer for both, so neither waits on the other's lock.
 */
import { createRequire } from 'node:module';
import type * as WorkerThreads from 'node:worker_threads';
import { Worker } from 'node:worker_threads';
import type SQLiteDriver from 'better-sqlite3';
import { encodeRequestLogBatch, type RequestLogWriter } from '../kysely-store.js';

/** What the request thread asks of the ledger thread: a batch to write, a read, a prune, or statements run in one transaction. */
type Work =
  | Batch
  | { id: number; read: string; parameters: unknown[] }
  | { id: number; prune: string; parameters: unknown[] }
  | { id: number; transact: Array<Array<[sql: string, parameters: unknown[]]>> };

interface Batch {
  id: number;
  /**
   * The rows as one JSON array of rows, each the array of its values in the statement's order
   * (`encodeRequestLogRow`). A string crosses to the worker as one copy: the structured clone of
   * row objects cost the request thread ~3 µs a row here, and the worker as much again.
   */
  rows: string;
}

type Answer = { id: number; error?: string; rows?: unknown[]; changes?: number; refused?: Array<string | null> } | { ready: true } | { failed: string };

/** How the ledger's hourly sums are kept as rows are written (usage-rollups.ts): the upsert, and where each value sits in an encoded row. */
export interface RollupWriter {
  sql: string;
  /** Indexes in an encoded row of: created_at, tenant_id, key_id, model, device_class, status, app_id, app_version, prompt_tokens, cached_tokens, completion_tokens, compute_seconds, cost_nano_usd. */
  columns: readonly number[];
}

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
 * were refused (undefined when none). With `rollup`, the rows written (not those already there)
 * are summed per hour and group, and added to the hourly sums in the same transaction. Runs on the
 * ledger thread (its source goes into the eval'd code) and, where that thread cannot start, on the
 * request thread.
 */
export function batchInserter(database: SQLiteDriver.Database, sql: string, rollup?: RollupWriter): (rows: unknown[][]) => string | undefined {
  const insert = database.prepare(sql);
  const upsert = rollup ? database.prepare(rollup.sql) : undefined;
  let reason = '';
  const insertAll = database.transaction((rows: unknown[][]) => {
    let refused = 0;
    const groups = new Map<string, unknown[]>();
    for (const row of rows) {
      try {
        if (insert.run(row).changes === 0 || !rollup) continue;
      } catch (error) {
        if (!isRowError(error)) throw error;
        refused += 1;
        reason = (error as Error).message;
        continue;
      }
      const at = rollup.columns;
      const values = (index: number): unknown => row[at[index]!];
      const dimensions = [
        Math.floor(Number(values(0)) / 3_600_000) * 3_600_000,
        values(1),
        values(2) ?? '',
        values(3),
        values(4) ?? '',
        values(5),
        values(6) ?? '',
        values(7) ?? '',
      ];
      const key = JSON.stringify(dimensions);
      let group = groups.get(key);
      if (!group) groups.set(key, (group = [...dimensions, 0, 0, 0, 0, 0, 0]));
      group[8] = (group[8] as number) + 1;
      for (let sum = 0; sum < 5; sum += 1) group[9 + sum] = (group[9 + sum] as number) + Number(values(8 + sum) ?? 0);
    }
    if (upsert) for (const group of groups.values()) upsert.run(group);
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
  const data = workerData as { driver: string; path: string; sql: string; rollup?: RollupWriter };
  const port = parentPort!;
  let write: (rows: unknown[][]) => string | undefined;
  let database: SQLiteDriver.Database;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the driver's path comes from the request thread
    const SQLite = require(data.driver) as typeof SQLiteDriver;
    database = new SQLite(data.path);
    database.pragma('busy_timeout = 5000');
    database.pragma('synchronous = NORMAL');
    write = batchInserter(database, data.sql, data.rollup);
  } catch (error) {
    port.postMessage({ failed: (error as Error).message });
    return;
  }
  const statements = new Map<string, SQLiteDriver.Statement>();
  const statement = (sql: string): SQLiteDriver.Statement => {
    let prepared = statements.get(sql);
    if (!prepared) statements.set(sql, (prepared = database.prepare(sql)));
    return prepared;
  };
  const transactOne = database.transaction((statements: Array<[sql: string, parameters: unknown[]]>) => {
    for (const [sql, parameters] of statements) statement(sql).run(parameters);
  });
  // Each group in its own savepoint (a transaction function called inside another): a group that
  // SQLite refuses for its rows is rolled back alone and answered with its reason; any other
  // failure (busy, I/O) fails them all.
  const transact = database.transaction((groups: Array<Array<[sql: string, parameters: unknown[]]>>) =>
    groups.map((group) => {
      try {
        transactOne(group);
        return null;
      } catch (error) {
        if (!isRowError(error)) throw error;
        return (error as Error).message;
      }
    }),
  );
  port.postMessage({ ready: true });
  port.on('message', (work: Work) => {
    try {
      // IMMEDIATE: the write lock first, so a busy database is waited for before anything is written.
      if ('transact' in work) port.postMessage({ id: work.id, refused: transact.immediate(work.transact) });
      else if ('read' in work) port.postMessage({ id: work.id, rows: statement(work.read).all(work.parameters) });
      else if ('prune' in work) port.postMessage({ id: work.id, changes: statement(work.prune).run(work.parameters).changes });
      else {
        const refused = write(JSON.parse(work.rows) as unknown[][]);
        port.postMessage(refused === undefined ? { id: work.id } : { id: work.id, error: refused });
      }
    } catch (error) {
      port.postMessage({ id: work.id, error: (error as Error).message });
    }
  });
}

/**
 * A RequestLogWriter whose inserts run on a worker thread. `start` resolves once the worker has
 * its statement ready, and rejects when it cannot open the file (the caller then writes on the
 * request thread).
 */
export class LedgerThread implements RequestLogWriter {
  private readonly waiting = new Map<
    number,
    { resolve: (answer: { rows?: unknown[]; changes?: number; refused?: Array<string | null> }) => void; reject: (error: Error) => void }
  >();
  private nextId = 0;
  private failure: Error | undefined;
  /** Transactions asked for and not yet sent: they go together after `transactHoldMs`, or at `flushTransactions` (`transact`). */
  private groups: Array<{ statements: Array<[sql: string, parameters: unknown[]]>; resolve: () => void; reject: (error: Error) => void }> = [];
  private groupsTimer: NodeJS.Timeout | undefined;
  private lastTransaction: Promise<void> = Promise.resolve();

  private constructor(
    private readonly worker: Worker,
    /** How long a transaction waits for others to share its message and commit (0: the end of the event loop's turn). */
    private readonly transactHoldMs: number,
  ) {
    // Held only while batches are in flight: an idle ledger must not keep the process alive, a busy one must.
    worker.unref();
    worker.on('message', (answer: Answer) => {
      if (!('id' in answer)) return;
      const waiter = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      if (this.waiting.size === 0) worker.unref();
      if (answer.error === undefined) waiter?.resolve(answer);
      else waiter?.reject(new Error(answer.error));
    });
    // A worker that dies takes its batches with it: they fail (and are reported), later ones too.
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`the ledger thread exited (code ${code})`)));
  }

  /** `sql` inserts one row with positional parameters, in the order of an encoded row's values; `rollup` keeps the hourly sums. */
  static start(path: string, sql: string, rollup?: RollupWriter, transactHoldMs = 0): Promise<LedgerThread> {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // tsx (esbuild's keepNames) wraps named functions in calls to its `__name` helper, which exists
    // in the module but not in the eval'd worker: a no-op stand-in lets the same source run there.
    const source = `var __name = (target) => target;\n${isRowError.toString()}\n${batchInserter.toString()}\n(${ledgerWorker.toString()})()`;
    const worker = new Worker(source, { eval: true, workerData: { driver, path, sql, rollup } });
    return new Promise((resolve, reject) => {
      const onMessage = (answer: Answer): void => {
        worker.off('error', onError);
        worker.off('message', onMessage);
        if ('ready' in answer) resolve(new LedgerThread(worker, transactHoldMs));
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
  async write(rows: readonly string[]): Promise<void> {
    const json = encodeRequestLogBatch(rows);
    await this.send((id) => ({ id, rows: json }));
  }

  /** Runs a read on the ledger thread's connection: the request thread waits without working. */
  async query(sql: string, parameters: readonly unknown[]): Promise<Array<Record<string, unknown>>> {
    return ((await this.send((id) => ({ id, read: sql, parameters: [...parameters] }))).rows ?? []) as Array<Record<string, unknown>>;
  }

  /** Runs a delete on the ledger thread's connection; resolves to the rows it removed. */
  async prune(sql: string, parameters: readonly unknown[]): Promise<number> {
    return (await this.send((id) => ({ id, prune: sql, parameters: [...parameters] }))).changes ?? 0;
  }

  /**
   * Runs writes in one transaction on the ledger thread's connection; resolves once committed.
   * The transactions asked for within `transactHoldMs` (as the ledger's rows wait for their batch)
   * go as one message and one commit, each in its own savepoint (all of it or none of it, as
   * alone): each message wakes the ledger thread, and the wake-up and the commit cost the request
   * thread a context switch and the other core's time (0.3 ms a response at concurrency 16,
   * decision 0021; at concurrency 1 one message a response was most of what storing it added).
   * Whoever waits on a write held here calls `flushTransactions` so as not to wait the hold.
   */
  transact(statements: ReadonlyArray<readonly [sql: string, parameters: readonly unknown[]]>): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      if (this.groups.length === 0) {
        if (this.transactHoldMs > 0) this.groupsTimer = setTimeout(() => this.flushTransactions(), this.transactHoldMs);
        else setImmediate(() => this.flushTransactions());
      }
      this.groups.push({ statements: statements.map(([sql, parameters]) => [sql, [...parameters]]), resolve, reject });
    });
  }

  /** Sends the transactions held back now (a reader waits on one of them). */
  flushTransactions(): void {
    clearTimeout(this.groupsTimer);
    this.groupsTimer = undefined;
    const groups = this.groups;
    if (groups.length === 0) return;
    this.groups = [];

    this.lastTransaction = this.send((id) => ({ id, transact: groups.map((group) => group.statements) })).then(
      ({ refused }) =>
        groups.forEach((group, index) => {
          const reason = refused?.[index];
          if (reason == null) group.resolve();
          else group.reject(new Error(reason));
        }),
      (error: Error) => {
        for (const group of groups) group.reject(error);
      },
    );
  }

  private send(work: (id: number) => Work): Promise<{ rows?: unknown[]; changes?: number; refused?: Array<string | null> }> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    if (this.waiting.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage(work(id));
    });
  }

  async close(): Promise<void> {
    // Transactions still held back are committed first (their callers were answered already).
    this.flushTransactions();
    await this.lastTransaction;
    this.failure ??= new Error('the ledger thread is closed');
    await this.worker.terminate();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
