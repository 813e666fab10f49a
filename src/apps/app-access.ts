/**
 * Who may call an app, and as whom the call runs. A key with an app scope (a list) is an app key:
 * it calls those apps and nothing else, and a call runs with the app's own model chain and device
 * scope, whatever else the key says. Any other key may call an app its model scope allows (the
 * app is no way around a model scope), with devices where the key's and the app's scopes meet.
 */
import { appModels } from '../core/app-config.js';
import type { AppRecord } from '../core/app-store.js';
import { NimbusError } from '../core/errors.js';
import { allows, type Allowance, type Principal } from '../core/principal.js';

/** Whether the key is limited to apps (its calls to raw models are refused). */
export function isAppKey(principal: Principal): boolean {
  return Array.isArray(principal.scopes.apps);
}

/** 403 unless the key may call app `name` (inference scope, and its app scope where it has one). */
export function authorizeApp(principal: Principal, name: string): void {
  if (!principal.scopes.inference)
    throw new NimbusError(
      'permission_denied',
      'This API key may not call the inference API (it has no inference scope). Use a key created with inference scope.',
    );
  const apps = principal.scopes.apps;
  if (apps !== undefined && !allows(apps, name)) {
    const allowed = apps === '*' ? 'every app' : apps.join(', ') || 'no app';
    throw new NimbusError('permission_denied', `This API key may not call the app '${name}'; it may call: ${allowed}.`, { param: 'model' });
  }
}

/** Where two device scopes meet. */
function meet(first: Allowance, second: Allowance): Allowance {
  if (first === '*') return second;
  if (second === '*') return first;
  return first.filter((id) => second.includes(id));
}

/**
 * The principal an app's call runs as: the app's models (and the models they route to), the
 * app's devices (met with the key's, unless it is an app key), never admin. Its `apps` scope is
 * dropped, so admission (which checks models) sees an ordinary inference call.
 */
export function appCallPrincipal(principal: Principal, app: AppRecord, routedModels: readonly string[]): Principal {
  const appDevices: Allowance = app.config.devices ?? [];
  const devices = isAppKey(principal) ? appDevices : meet(principal.scopes.devices, appDevices);
  return {
    tenantId: principal.tenantId,
    keyId: principal.keyId,
    local: principal.local,
    via: principal.via ?? principal,
    scopes: { inference: true, admin: false, models: [...new Set([...appModels(app.config), ...routedModels])], devices },
  };
}
