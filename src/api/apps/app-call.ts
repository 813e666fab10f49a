/**
 * One call of an app (`model: "app:NAME"`, `POST /v1/apps/NAME/responses`): the live version
 * (cached, apps/app-directory.ts), the key's right to call it, the principal the call runs as
 * (apps/app-access.ts), the route over the app's model chain, and the end user's memory. The
 * ledger records the app and version of every row the call makes.
 */
import type { FastifyRequest } from 'fastify';
import { appCallPrincipal, authorizeApp, isAppKey } from '../../apps/app-access.js';
import { appPrefix } from '../../apps/app-model.js';
import { remember } from '../../apps/app-memory.js';
import { appModels } from '../../core/app-config.js';
import type { AppRecord, MemoryTurn } from '../../core/app-store.js';
import { NimbusError } from '../../core/errors.js';
import type { ModelCatalog } from '../../core/model-catalog.js';
import { ModelRoute, type RouteTarget } from '../../core/model-route.js';
import type { Principal } from '../../core/principal.js';
import type { Limits } from '../../core/tenancy-store.js';
import { applyLimits } from '../admin-views.js';
import { authorizeInference } from '../../tenancy/usage-gate.js';
import type { ServerContext } from '../server-context.js';

export interface AppCall {
  app: AppRecord;
  /** What clients name it by: `app:NAME`. */
  model: string;
  /** Who the call runs as: the app's models and devices (apps/app-access.ts). */
  principal: Principal;
  route: ModelRoute;
  /** The ledger's app and version (`app_id`, `app_version`). */
  billing: { id: string; version: string };
  /** The app's own limits and budget, reserved with the key's and the tenant's; undefined when it has none. */
  limits: { id: string; limits: Limits } | undefined;
  /** The end user whose memory applies, where the app keeps memory and the request names one. */
  endUser: string | undefined;
  /** What the app remembers of the end user (empty when none). */
  memory: MemoryTurn[];
}

/** The route over an app's model chain: each model's own route (alias, fallbacks) in turn; models no longer served are skipped. */
export function appRoute(catalog: ModelCatalog, model: string, models: readonly string[]): ModelRoute {
  const targets: RouteTarget[] = [];
  let firstError: unknown;
  for (const name of models) {
    try {
      for (const target of catalog.route(name).targets) if (!targets.some((known) => known.model === target.model)) targets.push(target);
    } catch (error) {
      firstError ??= error;
    }
  }
  if (targets.length === 0) throw firstError;
  return new ModelRoute(model, targets as [RouteTarget, ...RouteTarget[]]);
}

/** Resolves a call of app `name` for this request; 403 where the key may not call it, 404 where the tenant has no such app. */
export async function resolveAppCall(context: ServerContext, request: FastifyRequest, name: string, endUser: string | undefined): Promise<AppCall> {
  const principal = request.principal;
  authorizeApp(principal, name);
  const app = await context.apps.live(principal.tenantId, name);
  if (!app) throw new NimbusError('model_not_found', `The app '${name}' does not exist. GET /v1/apps lists the apps you may call.`, { param: 'model' });
  const models = appModels(app.config);
  // Any key but an app key must be allowed the app's model: an app is no way around a model scope.
  if (!isAppKey(principal)) authorizeInference(principal, models[0]!, context.catalog.canonical(models[0]!));
  const model = `${appPrefix}${name}`;
  const route = appRoute(context.catalog, model, models);
  const user = app.config.memory ? endUser : undefined;
  const memory = user !== undefined ? ((await context.apps.store.getMemory(principal.tenantId, name, user))?.turns ?? []) : [];
  return {
    app,
    model,
    principal: appCallPrincipal(principal, app, route.models),
    route,
    billing: { id: name, version: String(app.liveVersion) },
    limits: limitsOf(app),
    endUser: user,
    memory,
  };
}

/** Limits objects per app record (one while the record is cached), so admission's plan cache keeps its checks. */
const appLimits = new WeakMap<AppRecord, { id: string; limits: Limits } | undefined>();

export function limitsOf(app: AppRecord): { id: string; limits: Limits } | undefined {
  if (!appLimits.has(app)) {
    const limits = applyLimits({}, app.config.limits);
    appLimits.set(app, Object.keys(limits).length > 0 ? { id: app.name, limits } : undefined);
  }
  return appLimits.get(app);
}

/** Adds one exchange to the end user's memory (after a completed answer); a failure is logged, the answer stands. */
export async function rememberExchange(context: ServerContext, call: AppCall, user: string, assistant: string): Promise<void> {
  if (call.endUser === undefined || (!user && !assistant)) return;
  try {
    await context.apps.store.putMemory({
      tenantId: call.app.tenantId,
      app: call.app.name,
      user: call.endUser,
      turns: remember(call.memory, user, assistant),
      updatedAt: Date.now(),
    });
  } catch (error) {
    context.logger.error({ err: error, app: call.app.name }, 'an app could not update an end user’s memory');
  }
}

/** 400 for a request field the app sets itself (its config decides; a request cannot override it quietly). */
export function refuseAppField(call: AppCall, param: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value) && value.length === 0) return;
  throw new NimbusError(
    'invalid_value',
    `'${param}' is set by the app '${call.app.name}' (version ${call.app.liveVersion}), not by the request: leave it out, or publish a new version of the app to change it.`,
    { param },
  );
}
