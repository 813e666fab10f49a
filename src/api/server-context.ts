import type { FastifyBaseLogger } from 'fastify';
import type { AppDirectory } from '../apps/app-directory.js';
import type { LiveEventBus } from '../core/live-events.js';
import type { ModelCatalog } from '../core/model-catalog.js';
import type { PoolControl } from '../core/pool-control.js';
import type { Store } from '../core/store.js';
import type { RunningDevices } from '../devices/start-devices.js';
import type { StoreSearch } from '../knowledge/search/store-search.js';
import type { ModelCache } from '../models/model-cache.js';
import type { ModelPulls } from '../models/model-pulls.js';
import type { Accounting } from '../tenancy/accounting/accounting.js';
import type { UsageGate } from '../tenancy/usage-gate.js';
import type { AccessLog } from './access-log.js';
import type { Lifecycle } from './lifecycle.js';
import type { Metrics } from './metrics.js';

/** What the routes share: picked and wired by main.ts, the composition root. */
export interface ServerContext {
  catalog: ModelCatalog;
  /** Live apps by tenant and name, cached for calls (`model: "app:NAME"`), and their store. */
  apps: AppDirectory;
  store: Store;
  metrics: Metrics;
  lifecycle: Lifecycle;
  logger: FastifyBaseLogger;
  /** The per-request access line (written by the accounting path), batched onto stdout (access-log.ts). */
  accessLog: AccessLog;
  /** Admission and settlement against keys' and tenants' limits (`openGate` when tenancy is off); admin routes report changes to it. */
  gate: UsageGate;
  /** The one accounting path every billed engine call goes through (src/tenancy/accounting/). */
  accounting: Accounting;
  /** The live feed (`/v1/events`): finished requests here, device changes from installDevices. */
  events: LiveEventBus;
  /** Device support (MQTT, twins, tools for models); absent when the server runs without it. */
  devices?: DeviceServices;
  /** Knowledge search, for apps' file search on chat completions; absent on a worker. */
  knowledgeSearch?: StoreSearch;
  /** The pool runtime (control plane); absent on a worker and where the pool is off. */
  pool?: PoolControl;
  /** What `/readyz` asks before it says ready: the store, Redis where configured (a name and a call that rejects when it does not answer). */
  readiness?: readonly ReadinessCheck[];
  /**
   * A pool worker's server: usage carries `nimbus_compute` (device class and seconds) so the
   * control plane's ledger records the compute its request used. Off for clients.
   */
  reportCompute?: boolean;
}

/** One dependency readiness waits on. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

/** The control plane's model cache as `/v1/model-files` manages it. */
export interface ModelFileServices {
  cache: Pick<ModelCache, 'list' | 'remove' | 'localPath'>;
  pulls: ModelPulls;
  /** The models the server loaded from its configuration: their files stay in use while it runs. */
  configured: ReadonlyArray<{ id: string; source: string }>;
}

/** What the routes use of device support. */
export type DeviceServices = Pick<RunningDevices, 'gateway' | 'admin' | 'settings' | 'broker'>;
