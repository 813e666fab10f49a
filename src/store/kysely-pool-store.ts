/**
 * The pool section of the Store contract over Kysely, portable across SQLite and PostgreSQL:
 * replace-on-conflict upserts, JSON as text, timestamps as bigint (read back with Number()).
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { DemandCount, DemandRecord } from '../core/pool-demand.js';
import { FencedOut, type Fence, type LeaseRecord } from '../core/pool-lease.js';
import type {
  AutoscaleSpec,
  DeploymentRecord,
  JoinTokenRecord,
  PoolReplicaRecord,
  PoolReplicaState,
  PoolStore,
  WorkerHardware,
  WorkerLoadReport,
  WorkerRecord,
} from '../core/pool-store.js';
import type { PoolDeploymentsTable, PoolReplicasTable, PoolWorkersTable } from './pool-schema.js';
import { isPostgres } from './dialect.js';
import type { Database } from './schema.js';

export class KyselyPoolStore implements PoolStore {
  private readonly postgres: boolean;

  constructor(private readonly db: Kysely<Database>) {
    this.postgres = isPostgres(db as unknown as Kysely<unknown>);
  }

  async createJoinToken(token: JoinTokenRecord): Promise<void> {
    await this.db.insertInto('pool_join_tokens').values({ id: token.id, hash: token.hash, created_at: token.createdAt, expires_at: token.expiresAt }).execute();
  }

  async findJoinToken(hash: string): Promise<JoinTokenRecord | undefined> {
    const row = await this.db.selectFrom('pool_join_tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row && { id: row.id, hash: row.hash, createdAt: Number(row.created_at), expiresAt: row.expires_at === null ? null : Number(row.expires_at) };
  }

  async putWorker(worker: WorkerRecord): Promise<void> {
    const row = workerToRow(worker);
    const update = withoutKey(row, 'name');
    await this.db
      .insertInto('pool_workers')
      .values(row)
      .onConflict((conflict) => conflict.column('name').doUpdateSet(update))
      .execute();
  }

  async getWorker(name: string): Promise<WorkerRecord | undefined> {
    const row = await this.db.selectFrom('pool_workers').selectAll().where('name', '=', name).executeTakeFirst();
    return row && workerFromRow(row);
  }

  async findWorkerByCredential(hash: string): Promise<WorkerRecord | undefined> {
    const row = await this.db.selectFrom('pool_workers').selectAll().where('credential_hash', '=', hash).executeTakeFirst();
    return row && workerFromRow(row);
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    return (await this.db.selectFrom('pool_workers').selectAll().orderBy('name').execute()).map(workerFromRow);
  }

  async recordHeartbeat(name: string, at: number, load: WorkerLoadReport, hardware: WorkerHardware): Promise<boolean> {
    const result = await this.db
      .updateTable('pool_workers')
      .set({ last_heartbeat_at: at, load: JSON.stringify(load), hardware: JSON.stringify(hardware) })
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async setDraining(name: string, draining: boolean): Promise<boolean> {
    const result = await this.db
      .updateTable('pool_workers')
      .set({ draining: draining ? 1 : 0 })
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async deleteWorker(name: string): Promise<boolean> {
    return this.db.transaction().execute(async (transaction) => {
      const result = await transaction.deleteFrom('pool_workers').where('name', '=', name).executeTakeFirst();
      await transaction.deleteFrom('pool_replicas').where('worker', '=', name).execute();
      return Number(result.numDeletedRows) > 0;
    });
  }

  async putDeployment(deployment: DeploymentRecord, fence?: Fence): Promise<void> {
    const row = {
      name: deployment.name,
      source: deployment.source,
      replicas: deployment.replicas,
      device: deployment.device,
      context_size: deployment.contextSize,
      slots: deployment.slots,
      spare_slots: deployment.spareSlots,
      routing: deployment.routing,
      autoscale: deployment.autoscale ? JSON.stringify(deployment.autoscale) : null,
      created_at: deployment.createdAt,
      updated_at: deployment.updatedAt,
    };
    const update = withoutKey(row, 'name');
    await this.fenced(fence, (db) =>
      db
        .insertInto('pool_deployments')
        .values(row)
        .onConflict((conflict) => conflict.column('name').doUpdateSet(update))
        .execute(),
    );
  }

  async getDeployment(name: string): Promise<DeploymentRecord | undefined> {
    const row = await this.db.selectFrom('pool_deployments').selectAll().where('name', '=', name).executeTakeFirst();
    return row && deploymentFromRow(row);
  }

  async listDeployments(): Promise<DeploymentRecord[]> {
    return (await this.db.selectFrom('pool_deployments').selectAll().orderBy('name').execute()).map(deploymentFromRow);
  }

  async deleteDeployment(name: string): Promise<boolean> {
    return this.db.transaction().execute(async (transaction) => {
      const result = await transaction.deleteFrom('pool_deployments').where('name', '=', name).executeTakeFirst();
      await transaction.deleteFrom('pool_replicas').where('deployment', '=', name).execute();
      return Number(result.numDeletedRows) > 0;
    });
  }

  async putReplica(replica: PoolReplicaRecord, fence?: Fence): Promise<void> {
    const row = {
      id: replica.id,
      deployment: replica.deployment,
      worker: replica.worker,
      state: replica.state,
      error: replica.error,
      created_at: replica.createdAt,
      updated_at: replica.updatedAt,
    };
    const update = withoutKey(row, 'id');
    await this.fenced(fence, (db) =>
      db
        .insertInto('pool_replicas')
        .values(row)
        .onConflict((conflict) => conflict.column('id').doUpdateSet(update))
        .execute(),
    );
  }

  async listReplicas(): Promise<PoolReplicaRecord[]> {
    return (await this.db.selectFrom('pool_replicas').selectAll().orderBy('deployment').orderBy('created_at').orderBy('id').execute()).map(replicaFromRow);
  }

  async deleteReplica(id: string, fence?: Fence): Promise<boolean> {
    const result = await this.fenced(fence, (db) => db.deleteFrom('pool_replicas').where('id', '=', id).executeTakeFirst());
    return Number(result.numDeletedRows) > 0;
  }

  async readLease(name: string): Promise<LeaseRecord | undefined> {
    const row = await this.db.selectFrom('pool_leases').selectAll().where('name', '=', name).executeTakeFirst();
    return row && { name: row.name, holder: row.holder, generation: Number(row.generation), expiresAt: Number(row.expires_at) };
  }

  async swapLease(expected: LeaseRecord | undefined, next: LeaseRecord): Promise<boolean> {
    const values = { holder: next.holder, generation: next.generation, expires_at: next.expiresAt };
    if (expected === undefined) {
      const result = await this.db
        .insertInto('pool_leases')
        .values({ name: next.name, ...values })
        .onConflict((conflict) => conflict.column('name').doNothing())
        .returning('name')
        .executeTakeFirst();
      return result !== undefined;
    }
    const result = await this.db
      .updateTable('pool_leases')
      .set(values)
      .where('name', '=', expected.name)
      .where('holder', '=', expected.holder)
      .where('generation', '=', expected.generation)
      .where('expires_at', '=', expected.expiresAt)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async putDemand(controlPlane: string, counts: readonly DemandCount[], at: number): Promise<void> {
    await this.db.transaction().execute(async (transaction) => {
      await transaction.deleteFrom('pool_demand').where('control_plane', '=', controlPlane).execute();
      if (counts.length === 0) return;
      await transaction
        .insertInto('pool_demand')
        .values(
          counts.map((count) => ({
            control_plane: controlPlane,
            deployment: count.deployment,
            held: count.held,
            in_flight: count.inFlight,
            reported_at: at,
          })),
        )
        .execute();
    });
  }

  async listDemand(since: number): Promise<DemandRecord[]> {
    const rows = await this.db.selectFrom('pool_demand').selectAll().where('reported_at', '>=', since).orderBy('deployment').orderBy('control_plane').execute();
    return rows.map((row) => ({
      controlPlane: row.control_plane,
      deployment: row.deployment,
      held: Number(row.held),
      inFlight: Number(row.in_flight),
      reportedAt: Number(row.reported_at),
    }));
  }

  /**
   * Runs a placement write; with a fence, in a transaction that first reads the lease's generation
   * (on PostgreSQL `for share`: a takeover's update of the row waits for this write to commit, and
   * every write after the takeover sees the new generation) and throws `FencedOut` where it differs.
   */
  private async fenced<T>(fence: Fence | undefined, write: (db: Kysely<Database> | Transaction<Database>) => Promise<T>): Promise<T> {
    if (fence === undefined) return write(this.db);
    return this.db.transaction().execute(async (transaction) => {
      const query = transaction.selectFrom('pool_leases').select('generation').where('name', '=', fence.lease);
      const row = await (this.postgres ? query.forShare() : query).executeTakeFirst();
      const current = row === undefined ? undefined : Number(row.generation);
      if (current !== fence.generation) throw new FencedOut(fence, current);
      return write(transaction);
    });
  }
}

/** The row's columns but its key: what an upsert sets on conflict. */
function withoutKey<Row extends object, Key extends keyof Row>(row: Row, key: Key): Omit<Row, Key> {
  const copy = { ...row };
  delete copy[key];
  return copy;
}

function workerToRow(worker: WorkerRecord): PoolWorkersTable {
  return {
    name: worker.name,
    credential_hash: worker.credentialHash,
    inference_secret: worker.inferenceSecret,
    endpoint: worker.endpoint,
    hardware: JSON.stringify(worker.hardware),
    load: JSON.stringify(worker.load),
    draining: worker.draining ? 1 : 0,
    joined_at: worker.joinedAt,
    last_heartbeat_at: worker.lastHeartbeatAt,
  };
}

function workerFromRow(row: Selectable<PoolWorkersTable>): WorkerRecord {
  return {
    name: row.name,
    credentialHash: row.credential_hash,
    inferenceSecret: row.inference_secret,
    endpoint: row.endpoint,
    hardware: JSON.parse(row.hardware) as WorkerHardware,
    load: JSON.parse(row.load) as WorkerLoadReport,
    draining: Boolean(Number(row.draining)),
    joinedAt: Number(row.joined_at),
    lastHeartbeatAt: Number(row.last_heartbeat_at),
  };
}

function deploymentFromRow(row: Selectable<PoolDeploymentsTable>): DeploymentRecord {
  return {
    name: row.name,
    source: row.source,
    replicas: Number(row.replicas),
    device: row.device as DeploymentRecord['device'],
    contextSize: Number(row.context_size),
    slots: Number(row.slots),
    spareSlots: Number(row.spare_slots),
    routing: row.routing,
    autoscale: row.autoscale ? (JSON.parse(row.autoscale) as AutoscaleSpec) : null,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function replicaFromRow(row: Selectable<PoolReplicasTable>): PoolReplicaRecord {
  return {
    id: row.id,
    deployment: row.deployment,
    worker: row.worker,
    state: row.state as PoolReplicaState,
    error: row.error,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
