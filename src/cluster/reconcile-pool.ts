/**
 * What the control plane must do so that every deployment has its replicas on live workers:
 * replicas on unreachable workers are lost and placed again; replicas on draining workers are
 * placed elsewhere first and stopped only once their replacement exists. Pure: it returns the
 * actions, the runtime performs them.
 */
import { placeDeployment, type DeploymentSpec, type PlacementResult } from './place-deployment.js';
import type { WorkerSnapshot } from './pool-snapshot.js';

/** A replica the control plane knows about. */
export interface ReplicaRecord {
  id: string;
  deployment: string;
  worker: string;
}

/** The actions of one reconciliation. */
export interface ReconcilePlan {
  /** Replicas whose worker is unreachable or gone: forget them, retry their requests elsewhere. */
  lost: ReplicaRecord[];
  /** Replicas on draining workers whose replacement is placed in this plan: stop them once it is ready. */
  stop: ReplicaRecord[];
  /** Replicas on draining workers that stay, because no other worker can take them (see `placements`' refusal). */
  keepDraining: ReplicaRecord[];
  /** New placements per deployment, with their explanations and refusals. */
  placements: PlacementResult[];
}

/** Compares the wanted replicas of each deployment with the replicas on live workers. */
export function reconcilePool(deployments: readonly DeploymentSpec[], replicas: readonly ReplicaRecord[], workers: readonly WorkerSnapshot[]): ReconcilePlan {
  const stateOf = new Map(workers.map((worker) => [worker.name, worker.state]));
  const plan: ReconcilePlan = { lost: [], stop: [], keepDraining: [], placements: [] };
  for (const deployment of deployments) {
    const own = replicas.filter((replica) => replica.deployment === deployment.name);
    const live = own.filter((replica) => stateOf.get(replica.worker) === 'ready');
    const draining = own.filter((replica) => stateOf.get(replica.worker) === 'draining');
    plan.lost.push(...own.filter((replica) => !live.includes(replica) && !draining.includes(replica)));
    // Surplus live replicas (the deployment was scaled down) are left alone here: scaling is not reconciliation.
    const wanted = Math.max(deployment.replicas, live.length);
    const result = placeDeployment({ ...deployment, replicas: wanted }, workers, live);
    if (result.decisions.length > 0) plan.placements.push(result);
    // A draining replica may stop while live + placed + the draining ones still running cover the replicas wanted.
    const relieved = Math.max(0, Math.min(draining.length, live.length + result.placements.length + draining.length - deployment.replicas));
    plan.stop.push(...draining.slice(0, relieved));
    plan.keepDraining.push(...draining.slice(relieved));
  }
  return plan;
}
