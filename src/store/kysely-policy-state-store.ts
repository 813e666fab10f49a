/**
 * Device policy state over Kysely (SQLite and PostgreSQL): taints, counted steps and idempotency
 * keys. `KyselyDeviceStore` extends it, so the devices section of the store keeps one object.
 */
import type { Kysely } from 'kysely';
import type { EmergencyStop } from '../core/device-store.js';
import type { Admission, AdmissionQuery, CountedKind, CountedStep, IdempotencyRecord, PolicyStateStore, Taint } from '../core/policy-state-store.js';
import type { Database } from './schema.js';

export class KyselyPolicyStateStore implements PolicyStateStore {
  constructor(protected readonly db: Kysely<Database>) {}

  /**
   * Two round trips: the step's insert and the reads at once (a pool runs them side by side), then
   * the count, which must follow the committed insert. SQLite overrides this with one transaction.
   */
  async admit(query: AdmissionQuery): Promise<Admission> {
    const [step, emergencyStop, taint, conversationDevices] = await Promise.all([
      query.record
        ? this.addStep({
            tenantId: query.tenantId,
            kind: 'actuation',
            keySubject: query.keySubject,
            conversation: query.conversation,
            deviceId: query.deviceId,
            at: query.now,
          })
        : undefined,
      this.emergencyStop(query.tenantId),
      this.taintedUntil(query.tenantId, query.taintSubjects, query.now),
      query.conversation ? this.conversationDevices(query.tenantId, query.conversation, query.conversationSince) : [],
    ]);
    const count = await this.countSteps(query.tenantId, 'actuation', query.keySubject, query.capSince, query.countLimit);
    return { emergencyStop, taint, conversationDevices, step, count };
  }

  /** A tenant's emergency stop as stored, if it was ever set. */
  async emergencyStop(tenantId: string): Promise<EmergencyStop | undefined> {
    const row = await this.db.selectFrom('device_estops').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
    return row && { tenantId: row.tenant_id, active: Boolean(row.active), reason: row.reason, changedBy: row.changed_by, changedAt: Number(row.changed_at) };
  }

  async putTaints(taints: readonly Taint[]): Promise<void> {
    for (const taint of taints) {
      const row = { tenant_id: taint.tenantId, subject: taint.subject, until: taint.until, reason: taint.reason, set_at: taint.setAt };
      await this.db
        .insertInto('device_taints')
        .values(row)
        .onConflict((conflict) =>
          conflict
            .columns(['tenant_id', 'subject'])
            .doUpdateSet({ until: row.until, reason: row.reason, set_at: row.set_at })
            .where('device_taints.until', '<', row.until),
        )
        .execute();
    }
  }

  async taintedUntil(tenantId: string, subjects: readonly string[], now: number): Promise<Taint | undefined> {
    if (subjects.length === 0) return undefined;
    const row = await this.db
      .selectFrom('device_taints')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('subject', 'in', [...subjects])
      .where('until', '>', now)
      .orderBy('until', 'desc')
      .executeTakeFirst();
    return row && taintFromRow(row);
  }

  async listTaints(tenantId: string, now: number): Promise<Taint[]> {
    const rows = await this.db
      .selectFrom('device_taints')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('until', '>', now)
      .orderBy('until', 'desc')
      .execute();
    return rows.map(taintFromRow);
  }

  async clearTaints(tenantId: string, subjects: readonly string[], now: number): Promise<number> {
    if (subjects.length === 0) return 0;
    const active = await this.db
      .selectFrom('device_taints')
      .select('subject')
      .where('tenant_id', '=', tenantId)
      .where('subject', 'in', [...subjects])
      .where('until', '>', now)
      .execute();
    await this.db
      .deleteFrom('device_taints')
      .where('tenant_id', '=', tenantId)
      .where('subject', 'in', [...subjects])
      .execute();
    return active.length;
  }

  async addStep(step: CountedStep): Promise<number> {
    const row = await this.db
      .insertInto('device_steps')
      .values({
        tenant_id: step.tenantId,
        kind: step.kind,
        key_subject: step.keySubject,
        conversation: step.conversation,
        device_id: step.deviceId,
        at: step.at,
      })
      .returning('seq')
      .executeTakeFirstOrThrow();
    return Number(row.seq);
  }

  async removeStep(id: number): Promise<void> {
    await this.db.deleteFrom('device_steps').where('seq', '=', id).execute();
  }

  async countSteps(tenantId: string, kind: CountedKind, keySubject: string, since: number, limit?: number): Promise<number> {
    // Counting at most `limit` rows: a key far over its cap costs no more than one at it.
    const steps = this.db
      .selectFrom('device_steps')
      .select('seq')
      .where('tenant_id', '=', tenantId)
      .where('key_subject', '=', keySubject)
      .where('kind', '=', kind)
      .where('at', '>', since)
      .$if(limit !== undefined, (select) => select.limit(limit!));
    const row = await this.db
      .selectFrom(steps.as('steps'))
      .select((expression) => expression.fn.countAll<number | string>().as('count'))
      .executeTakeFirst();
    return Number(row?.count ?? 0);
  }

  async conversationDevices(tenantId: string, conversation: string, since: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('device_steps')
      .select('device_id')
      .distinct()
      .where('tenant_id', '=', tenantId)
      .where('conversation', '=', conversation)
      .where('kind', '=', 'actuation')
      .where('at', '>', since)
      .execute();
    return rows.map((row) => row.device_id);
  }

  async pruneSteps(before: number): Promise<void> {
    await this.db.deleteFrom('device_steps').where('at', '<', before).execute();
    await this.db.deleteFrom('device_taints').where('until', '<', before).execute();
    await this.db.deleteFrom('device_idempotency').where('expires_at', '<', before).execute();
  }

  async claimIdempotency(record: IdempotencyRecord): Promise<IdempotencyRecord | undefined> {
    const where = { tenant_id: record.tenantId, key_subject: record.keySubject, idempotency_key: record.key };
    // An expired claim is forgotten first, so the key can be used again.
    await this.db
      .deleteFrom('device_idempotency')
      .where('tenant_id', '=', where.tenant_id)
      .where('key_subject', '=', where.key_subject)
      .where('idempotency_key', '=', where.idempotency_key)
      .where('expires_at', '<=', record.createdAt)
      .execute();
    const inserted = await this.db
      .insertInto('device_idempotency')
      .values({
        ...where,
        request_hash: record.requestHash,
        state: 'running',
        status: null,
        body: null,
        created_at: record.createdAt,
        expires_at: record.expiresAt,
      })
      .onConflict((conflict) => conflict.columns(['tenant_id', 'key_subject', 'idempotency_key']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return undefined;
    const held = await this.db
      .selectFrom('device_idempotency')
      .selectAll()
      .where('tenant_id', '=', where.tenant_id)
      .where('key_subject', '=', where.key_subject)
      .where('idempotency_key', '=', where.idempotency_key)
      .executeTakeFirst();
    if (!held) return this.claimIdempotency(record);
    return {
      tenantId: held.tenant_id,
      keySubject: held.key_subject,
      key: held.idempotency_key,
      requestHash: held.request_hash,
      state: held.state === 'done' ? 'done' : 'running',
      status: held.status === null ? null : Number(held.status),
      body: held.body === null ? null : JSON.parse(held.body),
      createdAt: Number(held.created_at),
      expiresAt: Number(held.expires_at),
    };
  }

  async finishIdempotency(tenantId: string, keySubject: string, key: string, status: number, body: unknown): Promise<void> {
    await this.db
      .updateTable('device_idempotency')
      .set({ state: 'done', status, body: JSON.stringify(body ?? null) })
      .where('tenant_id', '=', tenantId)
      .where('key_subject', '=', keySubject)
      .where('idempotency_key', '=', key)
      .execute();
  }

  async releaseIdempotency(tenantId: string, keySubject: string, key: string): Promise<void> {
    await this.db
      .deleteFrom('device_idempotency')
      .where('tenant_id', '=', tenantId)
      .where('key_subject', '=', keySubject)
      .where('idempotency_key', '=', key)
      .where('state', '=', 'running')
      .execute();
  }
}

function taintFromRow(row: { tenant_id: string; subject: string; until: number | string; reason: string; set_at: number | string }): Taint {
  return { tenantId: row.tenant_id, subject: row.subject, until: Number(row.until), reason: row.reason, setAt: Number(row.set_at) };
}
