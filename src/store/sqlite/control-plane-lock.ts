/**
 * One control plane per SQLite database. SQLite keeps its data in one file on one machine, and
 * two `nimbus serve` processes on it would each lead the pool (two autoscalers, two reconcile
 * loops, placement twice) with nothing between them. The first process takes an exclusive lock
 * on a file beside the database (`nimbus.db.serve.lock`) and holds it while it runs; a second is
 * refused at start with what to do instead. The lock is SQLite's own (fcntl on POSIX, LockFileEx
 * on Windows), held by an open connection in exclusive locking mode: the operating system drops
 * it when the process dies, even by SIGKILL, so a crash never leaves a stale lock behind (a PID
 * file would). Processes that only read or write the database (CLI commands, `nimbus worker`'s
 * own log) take no lock.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';

/** A held lock; `release` frees it (idempotent). */
export interface ControlPlaneLock {
  readonly path: string;
  release(): void;
}

/** Why a second control plane may not start on one SQLite database: thrown by `lockControlPlane`. */
export class ControlPlaneLockTaken extends Error {
  constructor(readonly databasePath: string) {
    super(
      `Another 'nimbus serve' is running on the SQLite database ${databasePath} (it holds ${lockPathOf(databasePath)}). ` +
        'SQLite supports one control plane: stop the other process, or give this one its own --home. ' +
        'To run several control planes, share PostgreSQL and Redis: NIMBUS_DATABASE_URL=postgres://... NIMBUS_REDIS_URL=redis://... (README, "Several control planes").',
    );
    this.name = 'ControlPlaneLockTaken';
  }
}

/** The lock file of a database. */
export const lockPathOf = (databasePath: string): string => `${databasePath}.serve.lock`;

/** Takes the control-plane lock of the SQLite database at `databasePath`, or throws `ControlPlaneLockTaken`. */
export function lockControlPlane(databasePath: string): ControlPlaneLock {
  const path = lockPathOf(databasePath);
  // Taken before the store opens: a new --home does not exist yet, and the store would make it.
  mkdirSync(dirname(path), { recursive: true });
  // timeout 0: a held lock is an answer now, not after a wait.
  const connection = new SQLite(path, { timeout: 0 });
  try {
    connection.pragma('locking_mode = EXCLUSIVE');
    // The first write in exclusive mode takes the file's exclusive lock and keeps it until the connection closes.
    connection.exec('begin exclusive');
    connection.exec('create table if not exists holder (pid integer, started_at integer)');
    connection.exec('delete from holder');
    connection.prepare('insert into holder values (?, ?)').run(process.pid, Date.now());
    connection.exec('commit');
  } catch (error) {
    connection.close();
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) throw new ControlPlaneLockTaken(databasePath);
    throw error;
  }
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      connection.close();
    },
  };
}
