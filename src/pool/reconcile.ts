/**
 * One reconciliation: deployments from the store, replicas from the provisioner, then
 * `planReplicas` (src/cluster) says what goes and what is placed; a replica that failed to load
 * puts its deployment in load backoff first, so that it is not placed again at once. The pool
 * engine gets the replicas that remain. Only the leader places and removes, each write with its
 * fence; a control plane that follows only brings its pool engine up to date with the store.
 */
import { afterLoadFailure, mayPlaceAgain, planReplicas } from '../cluster/index.js';
import type { PoolParts } from './pool-state.js';
import { servingId } from './pool-state.js';
import type { ServingSync } from './serving-sync.js';

/** Brings every deployment toward its wanted count; one at a time (the front coalesces calls). */
export async function reconcileOnce(parts: PoolParts, sync: ServingSync): Promise<void> {
  const { store, provisioner, serving, clock, state, leadership } = parts;
  const deployments = await store.listDeployments();
  const names = new Set(deployments.map((deployment) => deployment.name));
  state.autoscaled.clear();
  for (const deployment of deployments) if (deployment.autoscale) state.autoscaled.set(deployment.name, deployment.autoscale);
  const observed = await provisioner.observe();
  if (!leadership.leading()) {
    sync.refresh(deployments, observed);
    state.wakeHeld();
    return;
  }
  // Taken once: every write of this pass carries it, and the store refuses them all once another control plane leads.
  const fence = leadership.fence();
  // A replica its host could not load puts its deployment in backoff: one step per reconcile that finds failures.
  const started = clock.now();
  for (const name of new Set(observed.filter((replica) => replica.state === 'failed' && names.has(replica.deployment)).map((replica) => replica.deployment))) {
    const error = observed.find((replica) => replica.deployment === name && replica.state === 'failed')?.error ?? 'failed to load';
    state.backoff.set(name, afterLoadFailure(state.backoff.get(name), started, error, parts.loadBackoff));
    state.retryPending.add(name);
  }
  const plan = planReplicas(
    deployments.map((deployment) => ({
      name: deployment.name,
      replicas: deployment.replicas,
      mayGrow: mayPlaceAgain(state.backoff.get(deployment.name), started),
    })),
    observed.map((replica) => ({
      ...replica,
      busy: serving.inFlight(replica.deployment, servingId(replica)),
      ...(state.retiring.has(replica.id) ? { retiringSince: state.retiring.get(replica.id)! } : {}),
    })),
    clock.now(),
  );
  for (const id of [...plan.forget, ...plan.relieve]) await provisioner.remove(id, fence);
  for (const { deployment, count } of plan.place) {
    const record = deployments.find((candidate) => candidate.name === deployment)!;
    const outcome = await provisioner.place(record, count, fence);
    if (outcome.refusal) state.refusals.set(deployment, outcome.refusal);
    else state.refusals.delete(deployment);
  }
  for (const id of plan.shrink) await provisioner.remove(id, fence);
  state.retiring = plan.retiring;
  sync.refresh(deployments, await provisioner.observe());
  state.wakeHeld();
}
