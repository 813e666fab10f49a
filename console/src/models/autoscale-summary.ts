/**
 * One line on a deployment's scaling, for the Models page: the range it autoscales within, the
 * requests waiting for a replica, and the last change of its count with the reason the control
 * plane gave. Undefined for a deployment with a fixed count and no change to tell.
 */
import type { PoolDeployment } from '../api/types.js';

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

export function autoscaleSummary(deployment: Pick<PoolDeployment, 'autoscale' | 'lastScale' | 'held'>, now: number = Date.now()): string | undefined {
  const parts: string[] = [];
  const range = deployment.autoscale;
  if (range) {
    parts.push(
      `autoscale ${range.minReplicas}-${range.maxReplicas} replicas, target ${range.targetQueuePerReplica} requests per replica, down after ${seconds(range.scaleDownDelayMs)} below it`,
    );
  }
  if (deployment.held) parts.push(`${deployment.held} ${deployment.held === 1 ? 'request waits' : 'requests wait'} for a replica`);
  const last = deployment.lastScale;
  if (last) parts.push(`last change ${last.from} → ${last.to}, ${seconds(Math.max(0, now - last.at))} ago: ${last.reason}`);
  return parts.length > 0 ? parts.join(' · ') : undefined;
}
