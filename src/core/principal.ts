/**
 * Who is making a request: the tenant, the API key, and what that key may touch. The auth layer
 * (tenancy) resolves it from the Authorization header; every other module only reads it.
 */

/** A list of allowed names, or every name. */
export type Allowance = '*' | readonly string[];

/** What a key may do. Deny by default: an empty list allows nothing. */
export interface Scopes {
  /** May call the inference API (/v1/chat/completions, /v1/completions, /v1/embeddings). */
  inference: boolean;
  /** May call the admin API (tenants, keys, deployments, approvals). */
  admin: boolean;
  /** Models the key may use. */
  models: Allowance;
  /** Devices the key may see and control (by device id). */
  devices: Allowance;
  /**
   * Apps the key may call (`model: "app:NAME"`); absent: every app its model scope allows. A list
   * makes it an app key: it calls those apps, each with the app's own models, stores and devices,
   * and nothing else (a raw model is a 403).
   */
  apps?: Allowance;
  /**
   * Devices whose approvals the key may list and decide (an approver, such as a car's confirm
   * control); absent: none, unless it has the admin scope. It gives nothing else: no inference,
   * no admin, no command to any device.
   */
  approvals?: Allowance;
}

export interface Principal {
  tenantId: string;
  /** The API key's id (never the key or its hash); null in local mode. */
  keyId: string | null;
  scopes: Scopes;
  /** True in local mode: loopback, and no key has been created yet. */
  local: boolean;
  /**
   * The principal this one was derived from, where a call runs with narrower scopes than its key
   * (an app's call): limits and budgets stay the key's, looked up through it.
   */
  via?: Principal;
}

/** The tenant that owns everything in local mode and is created first. */
export const defaultTenantId = 'default';

/** Local mode: the operator on this machine, allowed everything. */
export const localPrincipal: Principal = {
  tenantId: defaultTenantId,
  keyId: null,
  scopes: { inference: true, admin: true, models: '*', devices: '*' },
  local: true,
};

/** Whether an allowance covers a name. */
export function allows(allowance: Allowance, name: string): boolean {
  return allowance === '*' || allowance.includes(name);
}

/**
 * Whether a principal may read a device (list it, its twin, history, commands, live twin events):
 * its device scope, or the admin scope of the tenant (an admin oversees every device and can
 * engage the stop). Acting on a device needs the device scope, given explicitly.
 */
export function mayReadDevice(principal: Principal, deviceId: string): boolean {
  return principal.scopes.admin || allows(principal.scopes.devices, deviceId);
}

/** Whether a principal may list and decide approvals at all: the admin scope, or an approvals scope. */
export function isApprover(principal: Principal): boolean {
  const approvals = principal.scopes.approvals;
  return principal.scopes.admin || approvals === '*' || (approvals !== undefined && approvals.length > 0);
}

/** Whether a principal may see and decide the approvals of a device: the admin scope of its tenant, or an approvals scope covering it. */
export function mayDecideApproval(principal: Principal, deviceId: string): boolean {
  return principal.scopes.admin || (principal.scopes.approvals !== undefined && allows(principal.scopes.approvals, deviceId));
}
