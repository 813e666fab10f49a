/**
 * The apps section of the Store contract over Kysely, portable across SQLite and PostgreSQL: a
 * row per app (which version is live), a row per immutable version (its config as JSON), and a
 * row per end user an app remembers.
 */
import type { Kysely } from 'kysely';
import type { AppConfig } from '../core/app-config.js';
import type { AppMemory, AppRecord, AppStore, AppVersion, MemoryTurn } from '../core/app-store.js';
import type { Database } from './schema.js';

export class KyselyAppStore implements AppStore {
  constructor(private readonly db: Kysely<Database>) {}

  async createApp(tenantId: string, name: string, config: AppConfig, at: number): Promise<boolean> {
    return this.db.transaction().execute(async (transaction) => {
      const taken = await transaction.selectFrom('apps').select('name').where('tenant_id', '=', tenantId).where('name', '=', name).executeTakeFirst();
      if (taken) return false;
      // A deleted app's name may be taken again: its versions went with it.
      await transaction.insertInto('apps').values({ tenant_id: tenantId, name, live_version: 1, latest_version: 1, created_at: at, updated_at: at }).execute();
      await transaction
        .insertInto('app_versions')
        .values({ tenant_id: tenantId, app: name, version: 1, config: JSON.stringify(config), created_at: at })
        .execute();
      return true;
    });
  }

  async getApp(tenantId: string, name: string): Promise<AppRecord | undefined> {
    const rows = await this.liveRows(tenantId, name);
    return rows[0];
  }

  listApps(tenantId: string): Promise<AppRecord[]> {
    return this.liveRows(tenantId);
  }

  async listVersions(tenantId: string, name: string): Promise<AppVersion[] | undefined> {
    const app = await this.db.selectFrom('apps').select('name').where('tenant_id', '=', tenantId).where('name', '=', name).executeTakeFirst();
    if (!app) return undefined;
    const rows = await this.db
      .selectFrom('app_versions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('app', '=', name)
      .orderBy('version', 'asc')
      .execute();
    return rows.map((row) => ({
      tenantId: row.tenant_id,
      app: row.app,
      version: Number(row.version),
      config: JSON.parse(row.config) as AppConfig,
      createdAt: Number(row.created_at),
    }));
  }

  async publish(tenantId: string, name: string, config: AppConfig, at: number): Promise<AppVersion | undefined> {
    return this.db.transaction().execute(async (transaction) => {
      const app = await transaction.selectFrom('apps').select('latest_version').where('tenant_id', '=', tenantId).where('name', '=', name).executeTakeFirst();
      if (!app) return undefined;
      const version = Number(app.latest_version) + 1;
      // The version's primary key makes a racing publish of the same number fail rather than overwrite.
      await transaction
        .insertInto('app_versions')
        .values({ tenant_id: tenantId, app: name, version, config: JSON.stringify(config), created_at: at })
        .execute();
      await transaction
        .updateTable('apps')
        .set({ live_version: version, latest_version: version, updated_at: at })
        .where('tenant_id', '=', tenantId)
        .where('name', '=', name)
        .execute();
      return { tenantId, app: name, version, config, createdAt: at };
    });
  }

  async setLive(tenantId: string, name: string, version: number, at: number): Promise<boolean> {
    return this.db.transaction().execute(async (transaction) => {
      const exists = await transaction
        .selectFrom('app_versions')
        .select('version')
        .where('tenant_id', '=', tenantId)
        .where('app', '=', name)
        .where('version', '=', version)
        .executeTakeFirst();
      if (!exists) return false;
      const result = await transaction
        .updateTable('apps')
        .set({ live_version: version, updated_at: at })
        .where('tenant_id', '=', tenantId)
        .where('name', '=', name)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  async deleteApp(tenantId: string, name: string): Promise<boolean> {
    return this.db.transaction().execute(async (transaction) => {
      const result = await transaction.deleteFrom('apps').where('tenant_id', '=', tenantId).where('name', '=', name).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await transaction.deleteFrom('app_versions').where('tenant_id', '=', tenantId).where('app', '=', name).execute();
      await transaction.deleteFrom('app_memories').where('tenant_id', '=', tenantId).where('app', '=', name).execute();
      return true;
    });
  }

  async getMemory(tenantId: string, app: string, user: string): Promise<AppMemory | undefined> {
    const row = await this.db
      .selectFrom('app_memories')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('app', '=', app)
      .where('end_user', '=', user)
      .executeTakeFirst();
    if (!row) return undefined;
    return { tenantId, app, user, turns: JSON.parse(row.turns) as MemoryTurn[], updatedAt: Number(row.updated_at) };
  }

  async putMemory(memory: AppMemory): Promise<void> {
    const turns = JSON.stringify(memory.turns);
    await this.db
      .insertInto('app_memories')
      .values({ tenant_id: memory.tenantId, app: memory.app, end_user: memory.user, turns, updated_at: memory.updatedAt })
      .onConflict((conflict) => conflict.columns(['tenant_id', 'app', 'end_user']).doUpdateSet({ turns, updated_at: memory.updatedAt }))
      .execute();
  }

  async deleteMemory(tenantId: string, app: string, user: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('app_memories')
      .where('tenant_id', '=', tenantId)
      .where('app', '=', app)
      .where('end_user', '=', user)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Apps of a tenant (one, when named) joined with their live version's config, by name. */
  private async liveRows(tenantId: string, name?: string): Promise<AppRecord[]> {
    let select = this.db
      .selectFrom('apps')
      .innerJoin('app_versions', (join) =>
        join
          .onRef('app_versions.tenant_id', '=', 'apps.tenant_id')
          .onRef('app_versions.app', '=', 'apps.name')
          .onRef('app_versions.version', '=', 'apps.live_version'),
      )
      .select(['apps.name', 'apps.live_version', 'apps.latest_version', 'apps.created_at', 'apps.updated_at', 'app_versions.config'])
      .where('apps.tenant_id', '=', tenantId);
    if (name !== undefined) select = select.where('apps.name', '=', name);
    const rows = await select.orderBy('apps.name', 'asc').execute();
    return rows.map((row) => ({
      tenantId,
      name: row.name,
      liveVersion: Number(row.live_version),
      latestVersion: Number(row.latest_version),
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
      config: JSON.parse(row.config) as AppConfig,
    }));
  }
}
