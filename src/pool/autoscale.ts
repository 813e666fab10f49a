/**
 * One autoscale tick: held requests past their deadline get their 503; each deployment that
 * autoscales gets the count `decideScale` gives from its demand (`measureDemand`), its replicas
 * serving and the room its provisioner has; deployments whose load backoff passed are placed
 * again. A count changes through `putCount`, the one path of operators and the autoscaler.
 * Only the leader decides (its count writes carry its fence), counting the demand other control
 * planes reported (`shared-demand.ts`) with its own; every control plane reports its demand and
 * answers its own held requests whose deadline passed, and one that follows while it holds requests
 * asks for a reconcile, which reads the replicas the leader placed from the store.
 */
import { decideScale, mayPlaceAgain, measureDemand } from '../cluster/index.js';
import type { Fence } from '../core/pool-lease.js';
import type { DemandCount } from '../core/pool-demand.js';
import type { DeploymentRecord } from '../core/pool-store.js';
import type { PoolParts } from './pool-state.js';

/** Decides every autoscaling deployment's count; true when something changed and a reconcile should follow. */
export async function autoscaleOnce(parts: PoolParts): Promise<boolean> {
  const { store, provisioner, serving, clock, state } = parts;
  const now = clock.now();
  state.held.expire(now);
  await reportDemand(parts, now);
  if (!parts.leadership.leading()) return state.held.deployments().length > 0;
  const fence = parts.leadership.fence();
  let changed = false;
  for (const name of [...state.retryPending]) {
    if (!mayPlaceAgain(state.backoff.get(name), now)) continue;
    state.retryPending.delete(name);
    changed = true;
  }
  if (state.autoscaled.size === 0) return changed;
  const deployments = await store.listDeployments();
  const observed = await provisioner.observe();
  const elsewhere = await parts.demand.others(now);
  for (const deployment of deployments.filter((candidate) => candidate.autoscale)) {
    const own = observed.filter((replica) => replica.deployment === deployment.name);
    const ready = own.filter((replica) => state.serves(replica.id)).length;
    const scale = state.scaleStateOf(deployment.name, now);
    const others = elsewhere.get(deployment.name) ?? { held: 0, inFlight: 0 };
    const held = state.held.count(deployment.name) + others.held;
    const decision = decideScale({
      spec: deployment.autoscale!,
      current: deployment.replicas,
      ready,
      starting: Math.max(0, deployment.replicas - ready),
      demand: measureDemand(
        serving.inFlight(deployment.name) + others.inFlight,
        own.filter((replica) => !replica.lost).map((replica) => replica.reportedLoad),
        held,
      ),
      held,
      lastAboveTargetAt: scale.lastAboveTargetAt,
      lastScaleAt: scale.lastScaleAt,
      now,
      room: await provisioner.room(deployment, deployment.replicas),
    });
    if (decision.busy) scale.lastAboveTargetAt = now;
    if (decision.replicas === deployment.replicas) continue;
    // Read again: an operator may have changed the deployment since the list above.
    const fresh = await store.getDeployment(deployment.name);
    if (!fresh?.autoscale || fresh.replicas !== deployment.replicas) continue;
    await putCount(parts, fresh, decision.replicas, decision.reason, fence);
    changed = true;
  }
  return changed;
}

/** Reports this control plane's held and in-flight requests of deployments that autoscale; a failure is logged, not fatal to the tick. */
async function reportDemand(parts: PoolParts, now: number): Promise<void> {
  const counts: DemandCount[] = [];
  for (const deployment of parts.state.autoscaled.keys()) {
    const count = { deployment, held: parts.state.held.count(deployment), inFlight: parts.serving.inFlight(deployment) };
    if (count.held > 0 || count.inFlight > 0) counts.push(count);
  }
  try {
    await parts.demand.publish(counts, now);
  } catch (error) {
    parts.onError(error);
  }
}

/**
 * Persists a deployment's new count (the one path of operators and the autoscaler) and remembers
 * the change. The autoscaler passes its fence; an operator's change needs none.
 */
export async function putCount(parts: PoolParts, record: DeploymentRecord, replicas: number, reason: string, fence?: Fence): Promise<void> {
  const now = parts.clock.now();
  await parts.store.putDeployment({ ...record, replicas, updatedAt: now }, fence);
  const scale = parts.state.scaleStateOf(record.name, now);
  scale.lastScaleAt = now;
  if (replicas === record.replicas) return;
  scale.last = { at: now, from: record.replicas, to: replicas, reason };
  parts.onScale(record.name, scale.last);
}
