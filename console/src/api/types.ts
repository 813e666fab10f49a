/** Wire shapes of the public API the console reads (snake_case, as the server writes them). */
import type { DataSchema } from '../devices/controls.js';

export type Allowance = '*' | string[];

/** `GET /v1/me`. */
export interface Me {
  tenant: string;
  key: string | null;
  local: boolean;
  operator: boolean;
  scopes: { inference: boolean; admin: boolean; models: Allowance; devices: Allowance };
  devices_enabled: boolean;
}

/** A finished request from `/v1/events` (`event: request`). */
export interface RequestEvent {
  id: string;
  at: number;
  kind: string;
  model: string;
  status: string;
  http_status: number;
  prompt_tokens: number;
  completion_tokens: number;
  ttft_ms: number | null;
  duration_ms: number;
  device_class: string | null;
  key: string | null;
  tenant: string;
  /** When it arrived (unix ms); absent from servers before the request log. */
  created_at_ms?: number;
  served_by?: string | null;
  cost_usd?: number;
  app_id?: string | null;
  error_code?: string | null;
}

/** A row of `GET /v1/requests` (the ledger), and `GET /v1/requests/{id}`. */
export interface RequestRow {
  id: string;
  created_at_ms: number;
  tenant: string;
  key_id: string | null;
  app_id: string | null;
  app_version: string | null;
  kind: string;
  model: string;
  requested_model: string | null;
  served_by: string | null;
  route: string | null;
  worker: string | null;
  device_class: string | null;
  status: string;
  http_status: number;
  error_code: string | null;
  finish_reason: string | null;
  stream: boolean;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_usd: number;
  compute_seconds: number;
  ttft_ms: number | null;
  duration_ms: number;
  parent_id: string | null;
  batch_id: string | null;
}

/** A page of `GET /v1/requests`. */
export interface RequestPage {
  data: RequestRow[];
  has_more: boolean;
  next_cursor: string | null;
}

/** One limit of `GET /v1/me/limits`. */
export interface LimitStanding {
  scope: 'key' | 'tenant';
  owner: string;
  name: string;
  window: 'minute' | 'day' | 'month' | null;
  unit: 'requests' | 'tokens' | 'usd' | 'concurrent';
  limit: number;
  used: number;
  remaining: number;
  resets_at: number | null;
}

export interface Twin {
  device: string;
  version: number;
  connection: string;
  desired: Record<string, unknown>;
  reported: Record<string, unknown>;
  delta: Record<string, unknown>;
  reported_at: number | null;
  updated_at: number;
}

export interface Device {
  id: string;
  title: string;
  kind: string | null;
  risk: string;
  connection: string;
  properties: Array<{ name: string; read_only: boolean; risk: string }>;
  actions: Array<{ name: string; safe: boolean; idempotent: boolean; risk: string }>;
  /** The thing model as registered: the console types its controls from it. */
  model: { properties?: Record<string, DataSchema>; actions?: Record<string, { input?: DataSchema; description?: string }> };
  twin: Twin;
}

export interface Approval {
  id: string;
  status: string;
  device: string;
  kind: string;
  name: string | null;
  input: unknown;
  risk: string;
  reason: string;
  requested_by: string | null;
  requested_at: number;
  expires_at: number;
  model: string | null;
  conversation: string | null;
  decided_by: string | null;
  /** Who granted it so far; a critical command needs two grants from two keys, neither the asker's. */
  grants?: string[];
  grants_needed?: number;
}

export interface AuditEntry {
  seq: number;
  id: string;
  at: number;
  event: string;
  actor: string;
  key: string | null;
  model: string | null;
  conversation: string | null;
  source: string;
  device: string | null;
  command: string | null;
  approval: string | null;
  detail: Record<string, unknown>;
}

export interface EmergencyStop {
  active: boolean;
  reason: string;
  changed_by: string | null;
  changed_at: number | null;
}

/** The outcome of a device command (`object: device.action`). */
export interface DeviceAction {
  device: string;
  kind: string;
  name?: string;
  input?: unknown;
  status: string;
  message: string;
  approval?: string;
  command?: string;
  state_before?: Record<string, unknown>;
  state_after?: Record<string, unknown>;
}

export interface ApiKey {
  id: string;
  tenant: string;
  name: string;
  prefix: string;
  status: string;
  scopes: Me['scopes'];
  limits: Record<string, number>;
  created_at: number;
}

export interface Tenant {
  id: string;
  name: string;
  limits: Record<string, number>;
  created_at: number;
}

export interface UsageRow {
  tenant?: string;
  model?: string;
  key_id?: string | null;
  day?: string;
  /** UTC hour, `YYYY-MM-DDTHH:00Z` (when grouped by hour). */
  hour?: string;
  device_class?: string | null;
  /** served, refused, failed or cancelled (when grouped by status). */
  status?: string;
  /** The app and its version (when grouped by them; null outside apps). */
  app?: string | null;
  app_version?: string | null;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  compute_seconds: number;
  cost_usd: number;
}

export interface ModelInfo {
  id: string;
  nimbus?: { engine: string; served_by?: string[]; context_length?: number };
}

/**
 * The pool, as `GET /v1/pool/workers` and `GET /v1/deployments` list it (src/core/pool-control.ts:
 * WorkerView, StaticWorkerView and DeploymentView; admin keys only). Fields beyond these are ignored.
 */
export interface PoolWorker {
  kind: 'joined';
  name: string;
  /** `drained`: draining, and no replica is placed there any more (safe to stop). */
  state: 'ready' | 'draining' | 'drained' | 'unreachable';
  endpoint: string;
  silentMs: number;
  replicas: string[];
  hardware: {
    cpuModel: string;
    cores: number;
    ramTotalBytes: number;
    ramFreeBytes: number;
    gpus: Array<{ index: number; name: string; totalBytes: number; freeBytes: number; backend: string; driver?: string }>;
  };
  load: { activeSequences: number; queueDepth: number; tokensPerSecond: number; memoryInUseBytes: number };
}

/** An upstream engine from the server's configuration, listed with the workers. */
export interface StaticPoolWorker {
  kind: 'static';
  name: string;
  endpoint: string;
  state: 'ready' | 'degraded' | 'unreachable';
  models: Array<{ model: string; upstreamModel: string; breaker: 'closed' | 'open' | 'half-open'; inFlight: number }>;
  load: { activeRequests: number };
}

export type AnyPoolWorker = PoolWorker | StaticPoolWorker;

export interface PoolDeployment {
  name: string;
  source: string;
  replicas: number;
  device: string;
  routing: string;
  contextSize: number;
  slots: number;
  /** Sequences beyond `slots` for interactive requests while batch lines hold the slots; absent from an older control plane. */
  spareSlots?: number;
  /** `retiring`: taken out of routing by a scale-down, it goes once its requests in flight end. */
  placed: Array<{ id: string; worker: string; state: 'assigned' | 'ready' | 'failed' | 'retiring'; error: string | null }>;
  refusal?: string;
  /** Set when the count follows demand (`nimbus deploy --min --max`). */
  autoscale?: {
    minReplicas: number;
    maxReplicas: number;
    targetQueuePerReplica: number;
    scaleDownDelayMs: number;
    scaleFromZeroTimeoutMs: number;
  } | null;
  /** The last change of the count, by the autoscaler or an operator (since the control plane started). */
  lastScale?: { at: number; from: number; to: number; reason: string };
  /** Requests waiting for a replica (scale from zero). */
  held?: number;
}

/** A file in the control plane's model cache (`GET /v1/model-files`, the operator's). */
export interface ModelFile {
  ref: string;
  path: string;
  size: number;
  modified_at: number;
  /** A partial download a new pull resumes. */
  incomplete: boolean;
  /** Deployments and configured models that use it (it cannot be deleted while any does). */
  in_use_by: string[];
  pulling: boolean;
  /** A configured model's own file, served from its path outside the cache (listed, never deleted here). */
  external?: boolean;
}

/** A pull into the model cache (`POST /v1/model-files/pull`, and `model_pull` events on the feed). */
export interface ModelPull {
  id: string;
  ref: string;
  state: 'queued' | 'downloading' | 'verifying' | 'done' | 'failed';
  bytes: number;
  total: number | null;
  error: string | null;
  created_at: number;
  finished_at: number | null;
}

/** The counts of a vector store's files by status (`file_counts`). */
export interface FileCounts {
  in_progress: number;
  completed: number;
  failed: number;
  cancelled: number;
  total: number;
}

/** A vector store (`/v1/vector_stores`, in OpenAI's shape). */
export interface VectorStore {
  id: string;
  name: string;
  status: 'expired' | 'in_progress' | 'completed';
  usage_bytes: number;
  file_counts: FileCounts;
  created_at: number;
}

/** A file in a vector store (`/v1/vector_stores/{id}/files`); its `id` is the file's. */
export interface VectorStoreFile {
  id: string;
  status: 'in_progress' | 'completed' | 'failed' | 'cancelled';
  last_error: { code: string; message: string } | null;
  usage_bytes: number;
  created_at: number;
}

/** An uploaded file (`/v1/files`). */
export interface UploadedFile {
  id: string;
  filename: string;
  bytes: number;
}

/** One scored chunk of a search (`POST /v1/vector_stores/{id}/search`). */
export interface SearchResult {
  file_id: string;
  filename: string;
  score: number;
  content: Array<{ type: 'text'; text: string }>;
}

/** An alert as `GET /v1/alerts` and the feed's `alert` events give it (decision 0022). */
export interface Alert {
  id: string;
  kind: 'worker_lost' | 'deployment_unplaceable' | 'budget_high' | 'estop_engaged';
  subject: string;
  tenant: string | null;
  state: 'firing' | 'resolved';
  message: string;
  /** The console page of its subject. */
  link: string;
  /** Unix seconds. */
  first_seen_at: number;
  last_seen_at: number;
  resolved_at: number | null;
  fired: number;
}

/** An app's config, as `POST /v1/apps` takes it and every version holds (src/core/app-config.ts); fields beyond these are kept as they are. */
export interface AppConfig {
  description?: string;
  model: string | string[];
  instructions?: string;
  vector_store_ids?: string[];
  tools?: Array<{ type: 'function'; name: string; description?: string | null; parameters?: unknown }>;
  devices?: '*' | string[];
  limits?: Record<string, number>;
  memory?: boolean;
  [field: string]: unknown;
}

/** An app, as `GET /v1/apps` lists it (src/api/apps/app-views.ts). */
export interface AppView {
  name: string;
  /** What clients call it by: `app:NAME`. */
  model: string;
  live_version: number;
  latest_version: number;
  created_at: number;
  updated_at: number;
  description: string | null;
  config: AppConfig;
}

/** One version of an app (`GET /v1/apps/NAME/versions`). */
export interface AppVersionView {
  app: string;
  version: number;
  live: boolean;
  created_at: number;
  config: AppConfig;
}

/** An app template (`GET /v1/app_templates`; one template's answer has each knowledge file's `text`). */
export interface AppTemplateView {
  name: string;
  description: string | null;
  config: Record<string, unknown> & { name?: string; model?: string | string[] };
  variants: Array<{ suffix: string; config: Record<string, unknown> }>;
  knowledge: Array<{ filename: string; bytes: number; text?: string }>;
}
