/** Table types of the pool section (migrations 0020 on), for Kysely; JSON columns hold text. */

export interface PoolJoinTokensTable {
  id: string;
  hash: string;
  created_at: number;
  expires_at: number | null;
}

export interface PoolWorkersTable {
  name: string;
  credential_hash: string;
  inference_secret: string;
  endpoint: string;
  hardware: string;
  load: string;
  draining: number;
  joined_at: number;
  last_heartbeat_at: number;
}

export interface PoolDeploymentsTable {
  name: string;
  source: string;
  replicas: number;
  device: string;
  context_size: number;
  slots: number;
  routing: string;
  /** Spare slots (0050); 0 on rows from before. */
  spare_slots: number;
  /** `AutoscaleSpec` as JSON (0021); null: a fixed count. */
  autoscale: string | null;
  created_at: number;
  updated_at: number;
}

export interface PoolReplicasTable {
  id: string;
  deployment: string;
  worker: string;
  state: string;
  error: string | null;
  created_at: number;
  updated_at: number;
}

/** The pool lease (0031): who leads reconcile and autoscale, until when, in which generation. */
export interface PoolLeasesTable {
  name: string;
  holder: string;
  generation: number;
  expires_at: number;
}

/** One control plane's demand for one deployment (0042): requests held and in flight there. */
export interface PoolDemandTable {
  control_plane: string;
  deployment: string;
  held: number;
  in_flight: number;
  reported_at: number;
}

/** A live event batch too large for a PostgreSQL notification (0042): the notification carries its id. */
export interface LiveEventBodiesTable {
  id: string;
  body: string;
  created_at: number;
}

/** The pool's tables, merged into `Database`. */
export interface PoolTables {
  pool_demand: PoolDemandTable;
  live_event_bodies: LiveEventBodiesTable;
  pool_leases: PoolLeasesTable;
  pool_join_tokens: PoolJoinTokensTable;
  pool_workers: PoolWorkersTable;
  pool_deployments: PoolDeploymentsTable;
  pool_replicas: PoolReplicasTable;
}
