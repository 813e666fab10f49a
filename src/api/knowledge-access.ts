/**
 * Who may use files and vector stores: a key with inference scope (they exist to feed models), in
 * its own tenant only; another tenant's records answer 404 (the services look them up by tenant).
 */
import { NimbusError } from '../core/errors.js';
import type { Principal } from '../core/principal.js';

/** Throws 403 unless the key may use files and vector stores; resolves to the tenant they belong to. */
export function knowledgeTenant(principal: Principal): string {
  if (!principal.scopes.inference) {
    throw new NimbusError(
      'permission_denied',
      'This API key may not use files or vector stores (it has no inference scope). Use a key created with inference scope.',
    );
  }
  return principal.tenantId;
}
