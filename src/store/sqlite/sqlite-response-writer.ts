/**
 * A stored response's rows on SQLite, written off the request thread (decision 0020). Through
 * Kysely the write was a transaction of two inserts on the request thread, each compiled and
 * prepared per call behind the driver's promise-based mutex: about 0.4 ms of a 6 ms response
 * (bench/responses-overhead.ts), and a wait of milliseconds whenever the ledger thread held the
 * write lock. Here the rows go, as SQL and parameters, to the ledger thread's connection, which
 * commits them in one transaction beside the ledger's batches (one writer, so the two never wait
 * on each other's lock); the request thread only stringifies. Where there is no such thread
 * (`:memory:`, or it did not start), prepared statements in one synchronous transaction on the
 * request thread.
 */
import type SQLite from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { ResponseRowWriter, ResponseRows } from '../kysely-response-store.js';
import type { RequestLogWriter } from '../kysely-store.js';
import type { Database } from '../schema.js';

const insertResponse =
  'insert into responses (id, tenant_id, key_id, created_at, expires_at, status, previous_response_id, body, bytes) values (?, ?, ?, ?, ?, ?, ?, ?, ?)';
const insertItem = 'insert into response_input_items (response_id, tenant_id, position, item_id, item) values (?, ?, ?, ?, ?)';

type Statement = [sql: string, parameters: unknown[]];

/** The inserts of a response's rows, in order. */
function statementsOf({ response, items }: ResponseRows): Statement[] {
  return [
    [
      insertResponse,
      [
        response.id,
        response.tenant_id,
        response.key_id,
        response.created_at,
        response.expires_at,
        response.status,
        response.previous_response_id,
        response.body,
        response.bytes,
      ],
    ],
    ...items.map((item): Statement => [insertItem, [item.response_id, item.tenant_id, item.position, item.item_id, item.item]]),
  ];
}

/** The writer for a SQLite store: `database` is the request thread's connection, `db` Kysely over it, `ledger` the store's batch writer. */
export function sqliteResponseWriter(database: SQLite.Database, db: Kysely<Database>, ledger: () => Promise<RequestLogWriter>): ResponseRowWriter {
  const prepared = new Map<string, SQLite.Statement>();
  let inline: SQLite.Transaction<(statements: Statement[]) => void> | undefined;
  const runInline = (statements: Statement[]): void => {
    inline ??= database.transaction((list: Statement[]) => {
      for (const [sql, parameters] of list) {
        let statement = prepared.get(sql);
        if (!statement) prepared.set(sql, (statement = database.prepare(sql)));
        statement.run(parameters);
      }
    });
    inline.immediate(statements);
  };
  // A flush asked for while writes are still on their way to the ledger thread (its first start)
  // sends them as they arrive.
  let threaded: RequestLogWriter | undefined;
  let arriving = 0;
  let urgent = false;
  const write: ResponseRowWriter = async (rows) => {
    const statements = statementsOf(rows);
    arriving++;
    let writer: RequestLogWriter;
    try {
      writer = await ledger();
    } finally {
      arriving--;
    }
    if (writer.transact) {
      threaded = writer;
      const committed = writer.transact(statements);
      if (urgent) {
        urgent = arriving > 0;
        writer.flushTransactions?.();
      }
      return committed;
    }
    // Kysely holds the one connection for a whole transaction and awaits between its statements:
    // ours must not run inside one, so while one is open this waits for the connection (as the
    // device store's admit does). Otherwise nothing can interleave with a synchronous transaction.
    if (database.inTransaction) await db.connection().execute(async () => runInline(statements));
    else runInline(statements);
  };
  write.flush = () => {
    threaded?.flushTransactions?.();
    if (arriving > 0) urgent = true;
  };
  return write;
}
