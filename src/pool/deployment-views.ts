/**
 * Deployments as the admin API shows them (`GET /v1/deployments`) and explains them (`nimbus
 * deployments explain`): both from one observation of the provisioner, so they agree about where
 * replicas are and how each fares.
 */
import { mayPlaceAgain } from '../cluster/index.js';
import type { DeploymentView, PlacedReplica } from '../core/pool-control.js';
import type { DeploymentRecord } from '../core/pool-store.js';
import type { ProvisionedReplica } from '../core/replica-provisioner.js';
import { describeAutoscale } from './autoscale-settings.js';
import type { PoolParts } from './pool-state.js';

/** A deployment's replicas with the state the admin API shows: `retiring` for those a scale-down took out of routing. */
function placedOf(parts: PoolParts, record: DeploymentRecord, observed: readonly ProvisionedReplica[]): PlacedReplica[] {
  return observed
    .filter((replica) => replica.deployment === record.name)
    .map((replica) => ({
      id: replica.id,
      deployment: replica.deployment,
      worker: replica.host,
      state: parts.state.retiring.has(replica.id) ? ('retiring' as const) : replica.state,
      error: replica.error,
      createdAt: replica.createdAt,
      updatedAt: replica.updatedAt,
    }));
}

/**
 * One deployment for the admin API. `heldElsewhere` is what the other control planes reported
 * holding for it (`pool_demand`): a request waits for a replica wherever it arrived, and the
 * view answers the same through any control plane.
 */
export function deploymentView(parts: PoolParts, record: DeploymentRecord, observed: readonly ProvisionedReplica[], heldElsewhere = 0): DeploymentView {
  const { state, clock } = parts;
  const placed = placedOf(parts, record, observed);
  const backoff = state.backoff.get(record.name);
  const waiting = backoff && !mayPlaceAgain(backoff, clock.now()) ? state.backoffText(record.name, backoff, clock.now()) : undefined;
  const refusal = placed.length < record.replicas ? (waiting ?? state.refusals.get(record.name)) : undefined;
  const last = state.scaling.get(record.name)?.last;
  const held = state.held.count(record.name) + heldElsewhere;
  return {
    ...record,
    placed,
    ...(refusal ? { refusal } : {}),
    ...(last ? { lastScale: last } : {}),
    ...(held > 0 ? { held } : {}),
    ...(backoff ? { loadBackoff: backoff } : {}),
  };
}

/** `nimbus deployments explain`: the count, the range, the last change, the backoff, each replica, then the provisioner's reasons. */
export async function explainDeployment(parts: PoolParts, record: DeploymentRecord, observed: readonly ProvisionedReplica[]): Promise<string[]> {
  const { state, clock, provisioner } = parts;
  const placed = placedOf(parts, record, observed);
  const lines = [
    `${record.name}: ${placed.length} of ${record.replicas} replicas placed (${record.source}, ctx ${record.contextSize}, slots ${record.slots}${record.spareSlots > 0 ? ` + ${record.spareSlots} spare` : ''}, device ${record.device})`,
  ];
  if (record.autoscale) lines.push(describeAutoscale(record.autoscale));
  const last = state.scaling.get(record.name)?.last;
  if (last) lines.push(`last scale: ${last.from} -> ${last.to} at ${new Date(last.at).toISOString()}: ${last.reason}`);
  const backoff = state.backoff.get(record.name);
  if (backoff) lines.push(state.backoffText(record.name, backoff, clock.now()));
  for (const replica of placed) lines.push(`  ${replica.id} on ${replica.worker}: ${replica.state}${replica.error ? ` (${replica.error})` : ''}`);
  lines.push(...(await provisioner.explain(record, record.replicas)));
  return lines;
}
