/**
 * What the pool runtime's front keeps in memory between its loops, and the parts every loop
 * reaches: the store, the provisioner, the pool engine, the clock. A restarted control plane
 * starts this afresh; the store is the record.
 */
import type { LoadBackoff, LoadBackoffPolicy } from '../cluster/index.js';
import type { Clock } from '../core/clock.js';
import type { Engine } from '../core/engine.js';
import type { ScaleEvent } from '../core/pool-control.js';
import type { AutoscaleSpec, PoolStore } from '../core/pool-store.js';
import type { ReplicaRouter } from '../core/replica-router.js';
import type { ProvisionedReplica, ReplicaProvisioner } from '../core/replica-provisioner.js';
import { HeldRequests } from './held-requests.js';
import type { Leadership } from './leader-election.js';
import type { DemandShare } from './shared-demand.js';

/** What the runtime needs of the pool engine (`src/engines/pool`). */
export interface PoolServing {
  deploy(model: string, router: ReplicaRouter): void;
  setReplicas(model: string, replicas: ReadonlyArray<{ id: string; worker?: string; engine: Engine; healthy?: () => boolean; stalled?: () => boolean }>): void;
  undeploy(model: string): void;
  /**
   * Requests sent to the deployment's replicas (or to the one named `host/replica`) and not yet
   * ended, queued or running there: demand the autoscaler counts, and what scaling down avoids cutting.
   */
  inFlight(model: string, replica?: string): number;
  /** A replica (`host/replica`) reported the prefix keys its caches hold, most recent first: the deployment's router takes them. */
  cached?(model: string, replica: string, prefixKeys: readonly string[], complete: boolean): void;
  /** A replica's worker told its KV memory in tokens: the replica offers it to the router (`RoutingCandidate.kvTokens`). */
  kvSize?(model: string, replica: string, kvTokens: number): void;
}

/** The autoscaler's memory of one deployment. */
export interface ScaleState {
  lastAboveTargetAt: number;
  lastScaleAt: number;
  last?: ScaleEvent;
}

/** The parts every loop of the front reaches. */
export interface PoolParts {
  store: PoolStore;
  provisioner: ReplicaProvisioner;
  serving: PoolServing;
  clock: Clock;
  state: PoolState;
  /** Whether this control plane leads (places, removes, autoscales) and the fence of its writes. */
  leadership: Leadership;
  /** Where this control plane reports its demand and reads the others' (nothing shared when alone). */
  demand: DemandShare;
  loadBackoff: LoadBackoffPolicy;
  onError: (error: unknown) => void;
  onScale: (deployment: string, event: ScaleEvent) => void;
  /** A host lost or back, in words (for the log). */
  onHost: (host: string, state: 'lost' | 'back', detail: string) => void;
}

/** The id a replica has in the pool engine: its host and its own id. */
export const servingId = (replica: Pick<ProvisionedReplica, 'host' | 'id'>): string => `${replica.host}/${replica.id}`;

/** The front's memory. */
export class PoolState {
  /** Deployments that autoscale and their settings, as of the last reconcile or change here. */
  readonly autoscaled = new Map<string, AutoscaleSpec>();
  readonly scaling = new Map<string, ScaleState>();
  readonly held = new HeldRequests();
  readonly backoff = new Map<string, LoadBackoff>();
  /** Deployments in backoff not yet placed again since it passed. */
  readonly retryPending = new Set<string>();
  /**
   * Replicas a scale-down took out of routing while requests from here were still running on them,
   * and since when: removed once those requests end (or after the retire timeout), so that
   * scaling down cuts no request.
   */
  retiring = new Map<string, number>();
  /** Why the last placement of a deployment fell short, in words. */
  readonly refusals = new Map<string, string>();
  /** Each deployment's replicas as last given to the pool engine, to tell when one of them serves. */
  readonly served = new Map<string, ProvisionedReplica[]>();

  constructor(private readonly provisioner: ReplicaProvisioner) {}

  /** Whether a replica takes requests: its provisioner says it serves, and it is not retiring. */
  serves(id: string): boolean {
    return this.provisioner.serves(id) && !this.retiring.has(id);
  }

  /** Whether some replica of a deployment serves now. */
  servable(name: string): boolean {
    return (this.served.get(name) ?? []).some((replica) => this.serves(replica.id));
  }

  /** Lets held requests go on where their deployment has a replica serving now. */
  wakeHeld(): void {
    for (const name of this.held.deployments()) if (this.servable(name)) this.held.wake(name);
  }

  scaleStateOf(name: string, now: number): ScaleState {
    let state = this.scaling.get(name);
    if (!state) this.scaling.set(name, (state = { lastAboveTargetAt: now, lastScaleAt: now }));
    return state;
  }

  /** A replica of `deployment` loaded: its load backoff ends. */
  loaded(deployment: string): void {
    this.backoff.delete(deployment);
    this.retryPending.delete(deployment);
  }

  /** Forgets a removed deployment. */
  forget(name: string): void {
    this.refusals.delete(name);
    this.autoscaled.delete(name);
    this.scaling.delete(name);
    this.backoff.delete(name);
    this.retryPending.delete(name);
  }

  /** The load backoff in words, for the admin API and `explain`. */
  backoffText(name: string, backoff: LoadBackoff, now: number): string {
    const waitMs = Math.max(0, backoff.retryAt - now);
    const when = waitMs > 0 ? `placed again in ${Math.ceil(waitMs / 1000)} s` : 'placed again at the next reconcile';
    return `replicas of ${name} failed to load ${backoff.failures} time(s) in a row (last: ${backoff.lastError}); ${when}. A replica that loads ends the backoff.`;
  }
}
