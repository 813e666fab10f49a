/**
 * Autoscale settings as an operator changes them: a change (any of the fields) merged over the
 * deployment's own settings or the defaults, checked as a whole, with 400s that name the API
 * field to fix (`min_replicas`, not `minReplicas`: the admin API is the caller).
 */
import { defaultAutoscale } from '../cluster/index.js';
import { NimbusError } from '../core/errors.js';
import type { AutoscaleChange } from '../core/pool-control.js';
import type { AutoscaleSpec } from '../core/pool-store.js';

/**
 * The settings after `change`; `replicas` is the count the deployment has or asks for. A range
 * set for the first time defaults to min 1 (no cold start unless asked for) and max the larger
 * of min, the count and 1.
 */
export function mergeAutoscale(current: AutoscaleSpec | null, change: AutoscaleChange, replicas: number): AutoscaleSpec {
  const minReplicas = change.minReplicas ?? current?.minReplicas ?? 1;
  const spec: AutoscaleSpec = {
    minReplicas,
    maxReplicas: change.maxReplicas ?? current?.maxReplicas ?? Math.max(1, minReplicas, replicas),
    targetQueuePerReplica: change.targetQueuePerReplica ?? current?.targetQueuePerReplica ?? defaultAutoscale.targetQueuePerReplica,
    scaleDownDelayMs: change.scaleDownDelayMs ?? current?.scaleDownDelayMs ?? defaultAutoscale.scaleDownDelayMs,
    scaleFromZeroTimeoutMs: change.scaleFromZeroTimeoutMs ?? current?.scaleFromZeroTimeoutMs ?? defaultAutoscale.scaleFromZeroTimeoutMs,
  };
  if (spec.maxReplicas < 1) throw new NimbusError('invalid_value', 'max_replicas must be at least 1.', { param: 'max_replicas' });
  if (spec.minReplicas > spec.maxReplicas) {
    const param = change.minReplicas !== undefined ? 'min_replicas' : 'max_replicas';
    throw new NimbusError(
      'invalid_value',
      `min_replicas (${spec.minReplicas}) must not exceed max_replicas (${spec.maxReplicas}); pass both to move the range.`,
      { param },
    );
  }
  if (!(spec.targetQueuePerReplica > 0))
    throw new NimbusError('invalid_value', 'target_queue_per_replica must be above 0.', { param: 'target_queue_per_replica' });
  return spec;
}

/** Refuses a count outside the range: the autoscaler would undo it at once. */
export function checkCountInRange(spec: AutoscaleSpec, replicas: number): void {
  if (replicas >= spec.minReplicas && replicas <= spec.maxReplicas) return;
  throw new NimbusError(
    'invalid_value',
    `replicas (${replicas}) must lie between min_replicas (${spec.minReplicas}) and max_replicas (${spec.maxReplicas}) while the deployment autoscales; move the range, or pass "autoscale": false for a fixed count.`,
    { param: 'replicas' },
  );
}

/** One line for `nimbus deployments explain`. */
export function describeAutoscale(spec: AutoscaleSpec): string {
  const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;
  return (
    `autoscale: ${spec.minReplicas} to ${spec.maxReplicas} replicas, target ${spec.targetQueuePerReplica} requests per replica, ` +
    `one down after ${seconds(spec.scaleDownDelayMs)} below target, requests wait up to ${seconds(spec.scaleFromZeroTimeoutMs)} for a first replica`
  );
}
