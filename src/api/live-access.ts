/**
 * Which live events a key may see, by the same rules as the API it could read them from: requests
 * as `/v1/usage` (the operator all, a tenant's admin its tenant, any other key its own), twins as
 * `/v1/devices` (the key's device scope, or every device of its tenant for an admin), approvals and audit as `/v1/approvals` (admin of the
 * tenant), the emergency stop as `/v1/estop` (anyone of the tenant), model pulls as
 * `/v1/model-files` and deployment changes as `/v1/deployments` (the operator: the cache and the
 * pool are the whole cloud's), alerts as `/v1/alerts`.
 */
import type { LiveEvent } from '../core/live-events.js';
import { mayReadDevice, type Principal } from '../core/principal.js';
import { canSeeTenant, isOperator } from './admin-access.js';

/** Whether `principal` may receive `event` on `/v1/events`. */
export function maySee(principal: Principal, event: LiveEvent): boolean {
  if (!canSeeTenant(principal, event.tenantId)) return false;
  const ownTenant = principal.tenantId === event.tenantId || principal.local;
  switch (event.type) {
    case 'request':
      return principal.scopes.admin || isOperator(principal) || (event.keyId !== null && event.keyId === principal.keyId);
    case 'twin':
      return ownTenant && event.deviceId !== null && mayReadDevice(principal, event.deviceId);
    case 'estop':
      return ownTenant;
    case 'approval':
    case 'audit':
      return ownTenant && principal.scopes.admin;
    case 'model_pull':
    case 'deployment':
      return isOperator(principal);
    case 'alert':
      // As GET /v1/alerts: the cloud's alerts (workers, deployments) are the operator's.
      return !event.adminOnly || isOperator(principal);
    default:
      return !event.adminOnly || principal.scopes.admin;
  }
}
