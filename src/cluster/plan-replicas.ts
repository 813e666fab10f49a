/**
 * What the pool must do so that each deployment has its wanted count of replicas serving, from
 * the replicas its provisioner reports: failed and lost replicas go (and are placed again while
 * the deployment still wants them); replicas on hosts being emptied stay until the deployment has
 * its count serving elsewhere; a deployment scaled down loses its surplus, those not yet serving
 * first, and one still running requests first stops taking new ones and goes once they end (or
 * after `retireTimeoutMs`). Pure: the pool runtime performs the plan.
 */
import type { PoolReplicaState } from '../core/pool-store.js';

/** A replica as planning sees it. */
export interface ReplicaFacts {
  id: string;
  deployment: string;
  state: PoolReplicaState;
  /** Its host is gone or silent. */
  lost: boolean;
  /** Its host is being emptied (drained). */
  moving: boolean;
  /** Requests from this control plane running on it now. */
  busy: number;
  /** Since when it has been retiring (taken out of routing by a scale-down), if it is. */
  retiringSince?: number;
  createdAt: number;
}

/** A deployment's wanted count. */
export interface WantedCount {
  name: string;
  replicas: number;
  /** False while its load backoff runs: it keeps (and replaces) what it has and gets no more. */
  mayGrow: boolean;
}

/** The actions of one reconciliation. */
export interface ReplicaPlan {
  /** Failed, lost, or of a deployment that no longer exists: remove now. */
  forget: string[];
  /** New replicas to place, per deployment. */
  place: Array<{ deployment: string; count: number }>;
  /** On hosts being emptied, whose deployment has its count serving elsewhere: remove now. */
  relieve: string[];
  /** Surplus of a scale-down that is idle, not yet serving, or past the retire timeout: remove now. */
  shrink: string[];
  /** Surplus still running requests: out of routing, removed once idle; every retiring replica with its start. */
  retiring: Map<string, number>;
}

/** The longest a retiring replica waits for its requests in flight before it is removed anyway. */
export const defaultRetireTimeoutMs = 300_000;

/** Compares each deployment's wanted count with its replicas. */
export function planReplicas(
  deployments: readonly WantedCount[],
  replicas: readonly ReplicaFacts[],
  now: number,
  retireTimeoutMs = defaultRetireTimeoutMs,
): ReplicaPlan {
  const plan: ReplicaPlan = { forget: [], place: [], relieve: [], shrink: [], retiring: new Map() };
  const wanted = new Map(deployments.map((deployment) => [deployment.name, deployment]));
  for (const replica of replicas) if (replica.state === 'failed' || replica.lost || !wanted.has(replica.deployment)) plan.forget.push(replica.id);
  for (const deployment of deployments) {
    const own = replicas.filter((replica) => replica.deployment === deployment.name && replica.state !== 'failed');
    const live = own.filter((replica) => !replica.lost && !replica.moving);
    const moving = own.filter((replica) => !replica.lost && replica.moving);
    // In backoff it replaces lost and moving replicas, but adds none.
    const target = deployment.mayGrow ? deployment.replicas : Math.min(deployment.replicas, own.length);
    if (target > live.length) plan.place.push({ deployment: deployment.name, count: target - live.length });
    const servingElsewhere = live.filter((replica) => replica.state === 'ready').length;
    if (servingElsewhere >= deployment.replicas) plan.relieve.push(...moving.map((replica) => replica.id));
    const surplus = live.length - deployment.replicas;
    if (surplus <= 0) continue;
    for (const replica of scaleDownOrder(live).slice(0, surplus)) {
      const since = replica.retiringSince ?? now;
      if (replica.state === 'ready' && replica.busy > 0 && now - since < retireTimeoutMs) plan.retiring.set(replica.id, since);
      else plan.shrink.push(replica.id);
    }
  }
  return plan;
}

/**
 * Which replicas a scale-down takes first: those not yet serving, then those already retiring,
 * then those with the fewest requests in flight, then the newest.
 */
export function scaleDownOrder<T extends ReplicaFacts>(replicas: readonly T[]): T[] {
  return [...replicas].sort(
    (a, b) =>
      Number(a.state === 'ready') - Number(b.state === 'ready') ||
      Number(b.retiringSince !== undefined) - Number(a.retiringSince !== undefined) ||
      a.busy - b.busy ||
      b.createdAt - a.createdAt,
  );
}
