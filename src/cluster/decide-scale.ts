/**
 * Autoscaling of one deployment: how many replicas it should want now, from its demand
 * (requests queued or running on its replicas, plus requests held waiting for one). Up fast, down
 * slow: a replica is added as soon as demand per replica passes the target (desired =
 * ceil(demand / target), as PAI-EAS computes it), because a waiting user is the cost; one is
 * removed only after demand stayed below what one replica fewer carries for `scaleDownDelayMs`,
 * because a reload is the cost. Pure: the pool runtime calls it every tick and keeps the times.
 */
import type { AutoscaleSpec } from '../core/pool-store.js';

/** Defaults of the optional settings of `AutoscaleSpec`. */
export const defaultAutoscale = { targetQueuePerReplica: 2, scaleDownDelayMs: 60_000, scaleFromZeroTimeoutMs: 120_000 } as const;

/** What one decision looks at. */
export interface ScaleInput {
  spec: Pick<AutoscaleSpec, 'minReplicas' | 'maxReplicas' | 'targetQueuePerReplica' | 'scaleDownDelayMs'>;
  /** Replicas the deployment wants now (ready or starting); what a decision changes. */
  current: number;
  /** Replicas serving now. */
  ready: number;
  /** Replicas placed and loading, or wanted and not yet placed. */
  starting: number;
  /** Requests queued or running on its replicas, plus `held`. */
  demand: number;
  /** Requests waiting because no replica is ready. */
  held: number;
  /** The last time demand needed every current replica (`busy` of the previous decisions). */
  lastAboveTargetAt: number;
  /** The last time the count changed, by the autoscaler or an operator. */
  lastScaleAt: number;
  now: number;
  /** How many more replicas the pool can place now (free workers it fits on). */
  room: number;
}

/** The count to want, why, and whether demand needed every current replica. */
export interface ScaleDecision {
  replicas: number;
  /** In words, for `GET /v1/deployments` (`lastScale.reason`) and logs. */
  reason: string;
  /** True when ceil(demand / target) >= current: the caller records `now` as `lastAboveTargetAt`. */
  busy: boolean;
}

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;
const figure = (value: number): string => String(Math.round(value * 10) / 10);
const seconds = (ms: number): string => `${figure(ms / 1000)} s`;

/** The replica count a deployment should want now; `current` when nothing should change. */
export function decideScale(input: ScaleInput): ScaleDecision {
  const { spec, current, ready, demand, held, now, room } = input;
  const { minReplicas: min, maxReplicas: max, targetQueuePerReplica: target } = spec;
  const needed = Math.ceil(demand / target);
  const busy = needed >= current;
  const ceiling = Math.min(max, current + Math.max(0, room));
  const load = `demand ${figure(demand)} on ${plural(ready, 'ready replica')}`;
  if (current < min) return { replicas: min, reason: `raised to the minimum of ${min}`, busy };
  if (current > max) return { replicas: max, reason: `lowered to the maximum of ${max}`, busy };
  // A request waits at zero: one replica is wanted even where none fits yet, so the refusal says why.
  if (current === 0 && held > 0) {
    return { replicas: Math.max(1, Math.min(needed, ceiling)), reason: `${plural(held, 'request')} held at zero replicas`, busy };
  }
  if (needed > current) {
    const to = Math.min(needed, ceiling);
    if (to > current) return { replicas: to, reason: `${load} passes the target of ${target} per replica`, busy };
    const limit = current >= max ? `at the maximum of ${max}` : 'the pool has no room for another replica';
    return { replicas: current, reason: `${load} passes the target of ${target} per replica; ${limit}`, busy };
  }
  if (needed < current && current > min) {
    const quietMs = now - Math.max(input.lastAboveTargetAt, input.lastScaleAt);
    if (quietMs >= spec.scaleDownDelayMs) {
      const to = Math.max(min, current - 1);
      const why = demand === 0 ? `idle for ${seconds(quietMs)}` : `${load} stayed below the target of ${target} per replica for ${seconds(quietMs)}`;
      return { replicas: to, reason: to === 0 ? `${why}: scaled to zero` : why, busy };
    }
    return { replicas: current, reason: `${load}; below target for ${seconds(quietMs)} of ${seconds(spec.scaleDownDelayMs)}`, busy };
  }
  return { replicas: current, reason: `${load}: steady`, busy };
}

/**
 * A deployment's demand: requests queued or running on its replicas, plus those held for it. Two
 * counts of the same requests, so the larger is taken, not their sum: this control plane's own
 * (exact and current), and what its replicas' hosts last reported (they also see requests sent
 * by another control plane on the same store, one beat late).
 */
export function measureDemand(inFlightHere: number, reported: readonly number[], held: number): number {
  return (
    Math.max(
      inFlightHere,
      reported.reduce((total, load) => total + load, 0),
    ) + held
  );
}
