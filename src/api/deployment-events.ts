/**
 * A deployment created, changed or removed through this control plane, as a live event: the
 * operator's console sees it, and the other control planes that share the store get it through
 * the relay (decision 0016) and read the store at once instead of at their next reconcile, so a
 * deployment made through one is listed and served through all of them.
 */
import type { LiveEvent } from '../core/live-events.js';
import { defaultTenantId } from '../core/principal.js';

/** What happened to the deployment. */
export type DeploymentChange = 'created' | 'changed' | 'removed';

/** The event of a change made through `controlPlane`: the operator's only, like the pool it concerns. */
export function deploymentLiveEvent(name: string, change: DeploymentChange, controlPlane: string): LiveEvent {
  return {
    type: 'deployment',
    tenantId: defaultTenantId,
    keyId: null,
    deviceId: null,
    adminOnly: true,
    data: { object: 'deployment.change', deployment: name, change, control_plane: controlPlane },
  };
}

/** Whether `event` is a deployment change made through another control plane than `controlPlane`. */
export function changedElsewhere(event: LiveEvent, controlPlane: string): boolean {
  return event.type === 'deployment' && (event.data as { control_plane?: unknown }).control_plane !== controlPlane;
}
