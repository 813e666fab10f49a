/** Table types of the apps section (migration 0039), for Kysely; JSON columns hold text. */

export interface AppsTable {
  tenant_id: string;
  name: string;
  live_version: number;
  latest_version: number;
  created_at: number;
  updated_at: number;
}

export interface AppVersionsTable {
  tenant_id: string;
  app: string;
  version: number;
  /** JSON: the AppConfig document. */
  config: string;
  created_at: number;
}

export interface AppMemoriesTable {
  tenant_id: string;
  app: string;
  end_user: string;
  /** JSON array of MemoryTurn. */
  turns: string;
  updated_at: number;
}

export interface AppTables {
  apps: AppsTable;
  app_versions: AppVersionsTable;
  app_memories: AppMemoriesTable;
}
