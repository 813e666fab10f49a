/**
 * The devices section on SQLite: `KyselyDeviceStore`, with the per-command policy state read and
 * written in one synchronous transaction of prepared statements (`admit`). Through Kysely it was
 * four queries a command (emergency stop, taint, step, count), each compiled, prepared and run
 * behind the driver's promise-based mutex; here it is five statement runs inside one `BEGIN
 * IMMEDIATE`, which also holds SQLite's write lock from the insert to the count, so another
 * process on the same file cannot slip a step in between.
 */
import type SQLite from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Admission, AdmissionQuery } from '../../core/policy-state-store.js';
import { KyselyDeviceStore } from '../kysely-device-store.js';
import type { Database } from '../schema.js';

interface EstopRow {
  active: number;
  reason: string;
  changed_by: string;
  changed_at: number;
}

interface TaintRow {
  subject: string;
  until: number;
  reason: string;
  set_at: number;
}

/** The statements of `admit`, prepared once the schema exists (on first use, after migrations). */
class AdmissionStatements {
  readonly estop: SQLite.Statement<[string], EstopRow>;
  /** By the number of subjects (one: the key; two: the key and the conversation). */
  readonly taints = new Map<number, SQLite.Statement<unknown[], TaintRow>>();
  readonly devices: SQLite.Statement<[string, string, number], { device_id: string }>;
  readonly insert: SQLite.Statement<[string, string, string | null, string, number]>;
  readonly count: SQLite.Statement<[string, string, number, number], { count: number }>;
  readonly admit: SQLite.Transaction<(query: AdmissionQuery) => Admission>;

  constructor(private readonly database: SQLite.Database) {
    this.estop = database.prepare('select active, reason, changed_by, changed_at from device_estops where tenant_id = ?');
    this.devices = database.prepare("select distinct device_id from device_steps where tenant_id = ? and conversation = ? and kind = 'actuation' and at > ?");
    this.insert = database.prepare("insert into device_steps (tenant_id, kind, key_subject, conversation, device_id, at) values (?, 'actuation', ?, ?, ?, ?)");
    this.count = database.prepare(
      "select count(*) as count from (select 1 from device_steps where tenant_id = ? and key_subject = ? and kind = 'actuation' and at > ? limit ?)",
    );
    this.admit = database.transaction((query: AdmissionQuery) => this.run(query));
  }

  private taint(subjects: number): SQLite.Statement<unknown[], TaintRow> {
    let statement = this.taints.get(subjects);
    if (!statement) {
      const list = Array.from({ length: subjects }, () => '?').join(', ');
      statement = this.database.prepare(
        `select subject, until, reason, set_at from device_taints where tenant_id = ? and subject in (${list}) and until > ? order by until desc limit 1`,
      );
      this.taints.set(subjects, statement);
    }
    return statement;
  }

  private run(query: AdmissionQuery): Admission {
    const stop = this.estop.get(query.tenantId);
    const taint = query.taintSubjects.length > 0 ? this.taint(query.taintSubjects.length).get(query.tenantId, ...query.taintSubjects, query.now) : undefined;
    const devices = query.conversation ? this.devices.all(query.tenantId, query.conversation, query.conversationSince) : [];
    const step = query.record
      ? Number(this.insert.run(query.tenantId, query.keySubject, query.conversation, query.deviceId, query.now).lastInsertRowid)
      : undefined;
    const count = this.count.get(query.tenantId, query.keySubject, query.capSince, query.countLimit)?.count ?? 0;
    return {
      emergencyStop: stop && {
        tenantId: query.tenantId,
        active: Boolean(stop.active),
        reason: stop.reason,
        changedBy: stop.changed_by,
        changedAt: Number(stop.changed_at),
      },
      taint: taint && { tenantId: query.tenantId, subject: taint.subject, until: Number(taint.until), reason: taint.reason, setAt: Number(taint.set_at) },
      conversationDevices: devices.map((row) => row.device_id),
      step,
      count,
    };
  }
}

export class SqliteDeviceStore extends KyselyDeviceStore {
  private statements: AdmissionStatements | undefined;

  constructor(
    db: Kysely<Database>,
    private readonly database: SQLite.Database,
  ) {
    super(db);
  }

  override async admit(query: AdmissionQuery): Promise<Admission> {
    // Kysely holds the one connection for a whole transaction and awaits between its statements:
    // ours must not run inside one (a rollback there would take the step with it), so while one is
    // open this waits for the connection like any Kysely query. Otherwise nothing can interleave
    // with a synchronous transaction.
    if (this.database.inTransaction) return this.db.connection().execute(async () => this.admitNow(query));
    return this.admitNow(query);
  }

  private admitNow(query: AdmissionQuery): Admission {
    this.statements ??= new AdmissionStatements(this.database);
    // IMMEDIATE takes the write lock first when a step is written, so the count sees every step committed before it.
    return query.record ? this.statements.admit.immediate(query) : this.statements.admit(query);
  }
}
