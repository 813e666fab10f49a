/**
 * Kysely's SQLite dialect with every transaction begun IMMEDIATE. A plain (deferred) `begin` that
 * reads and then writes fails at once with SQLITE_BUSY_SNAPSHOT when another connection committed
 * in between (busy_timeout does not retry an upgrade), and the ledger thread's connection now
 * commits stored responses just after their answers (decision 0020): an app created right after a
 * response was a 500. IMMEDIATE takes the write lock first, so a busy database is waited for.
 */
import { CompiledQuery, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

export class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}
