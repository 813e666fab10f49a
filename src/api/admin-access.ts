/**
 * Who may see and change what through the admin API. The operator (local mode, or an admin key
 * of the `default` tenant) manages every tenant; an admin key of another tenant manages only its
 * own; a key without admin scope may only read its own usage. Another tenant's records answer
 * 404, as if they did not exist.
 */
import { NimbusError } from '../core/errors.js';
import { defaultTenantId, type Principal } from '../core/principal.js';

/** Whether the caller runs the whole cloud (every tenant). */
export function isOperator(principal: Principal): boolean {
  return principal.local || (principal.scopes.admin && principal.tenantId === defaultTenantId);
}

/** Throws 403 unless the caller has admin scope. */
export function requireAdmin(principal: Principal): void {
  if (!principal.scopes.admin) {
    throw new NimbusError('permission_denied', 'This API key may not call the admin API (it has no admin scope). Use a key created with --admin.');
  }
}

/** Throws 403 unless the caller is the operator. */
export function requireOperator(principal: Principal, action: string): void {
  requireAdmin(principal);
  if (!isOperator(principal)) {
    throw new NimbusError(
      'permission_denied',
      `Only an admin key of the '${defaultTenantId}' tenant may ${action}; this key belongs to tenant '${principal.tenantId}'.`,
    );
  }
}

/**
 * The tenant an admin request acts on: the one asked for, if the caller may act on it, else
 * the caller's own. `undefined` (the operator, no tenant asked): every tenant.
 */
export function tenantInScope(principal: Principal, requested: string | undefined): string | undefined {
  if (isOperator(principal)) return requested;
  if (requested !== undefined && requested !== principal.tenantId) {
    throw new NimbusError('permission_denied', `This API key belongs to tenant '${principal.tenantId}' and may not act on tenant '${requested}'.`, {
      param: 'tenant',
    });
  }
  return principal.tenantId;
}

/** Whether the caller may see a record of `tenantId`. */
export function canSeeTenant(principal: Principal, tenantId: string): boolean {
  return isOperator(principal) || principal.tenantId === tenantId;
}
