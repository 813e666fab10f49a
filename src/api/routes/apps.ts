/**
 * `/v1/apps` (issue 23): an app is a named, versioned config of a model, instructions, knowledge,
 * tools, format, sampling and limits, called as `model: "app:NAME"`. Create (version 1, live),
 * list, retrieve (with the function tools clients must run), versions, publish (the next version,
 * live), rollback (an older version, live), delete, and each end user's memory. Writing needs the
 * admin scope; reading, any inference key of the tenant that may call the app.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authorizeApp } from '../../apps/app-access.js';
import { memoryText } from '../../apps/app-memory.js';
import type { AppConfig } from '../../core/app-config.js';
import { NimbusError } from '../../core/errors.js';
import { parseRequest } from '../../core/openai/parse-request.js';
import { allows } from '../../core/principal.js';
import { requireAdmin } from '../admin-access.js';
import { appConfigSchema, appNameSchema, createAppSchema, rollbackSchema } from '../apps/app-config-schema.js';
import { appView, versionView } from '../apps/app-views.js';
import { checkAppConfig } from '../apps/check-app-config.js';
import type { ServerContext } from '../server-context.js';

const nameParams = z.object({ name: appNameSchema });
const memoryParams = z.object({ name: appNameSchema, user: z.string().min(1).max(256) });

export function notFound(name: string): NimbusError {
  return new NimbusError('not_found', `No app '${name}'. GET /v1/apps (or 'nimbus apps list') lists the apps you may call.`, { param: 'name' });
}

/** The config as stored: a `null` limit (allowed in the body) means no limit, so it is left out. */
function stored(config: z.infer<typeof appConfigSchema>): AppConfig {
  const { limits, ...rest } = config;
  const kept = Object.entries(limits ?? {}).filter((entry): entry is [string, number] => typeof entry[1] === 'number');
  return kept.length > 0 ? { ...rest, limits: Object.fromEntries(kept) } : rest;
}

export function registerAppRoutes(app: FastifyInstance, context: ServerContext): void {
  const apps = context.apps;
  const nameOf = (request: FastifyRequest): string => parseRequest(nameParams, request.params).name;
  /** The app for a reader that may call it; 404 (not 403) for one it may not see. */
  const readable = async (request: FastifyRequest, name: string) => {
    const scope = request.principal.scopes.apps;
    const found = scope === undefined || allows(scope, name) ? await apps.store.getApp(request.principal.tenantId, name) : undefined;
    if (!found) throw notFound(name);
    return found;
  };

  app.post('/v1/apps', async (request, reply) => {
    requireAdmin(request.principal);
    const { name, ...body } = parseRequest(createAppSchema, request.body);
    const config = stored(body);
    const tenantId = request.principal.tenantId;
    await checkAppConfig(context, tenantId, config);
    if (!(await apps.store.createApp(tenantId, name, config, Date.now())))
      throw new NimbusError('conflict', `An app named '${name}' exists already: publish a new version (POST /v1/apps/${name}/versions).`, { param: 'name' });
    apps.forget(tenantId, name);
    return reply.code(201).send(appView((await apps.store.getApp(tenantId, name))!));
  });

  app.get('/v1/apps', async (request) => {
    const scope = request.principal.scopes.apps;
    const all = await apps.store.listApps(request.principal.tenantId);
    const data = all.filter((found) => scope === undefined || allows(scope, found.name)).map(appView);
    return { object: 'list', data };
  });

  app.get('/v1/apps/:name', async (request) => appView(await readable(request, nameOf(request))));

  app.get('/v1/apps/:name/versions', async (request) => {
    const found = await readable(request, nameOf(request));
    const versions = (await apps.store.listVersions(found.tenantId, found.name)) ?? [];
    return { object: 'list', data: versions.map((version) => versionView(version, found.liveVersion)) };
  });

  app.post('/v1/apps/:name/versions', async (request, reply) => {
    requireAdmin(request.principal);
    const name = nameOf(request);
    const config = stored(parseRequest(appConfigSchema, request.body));
    const tenantId = request.principal.tenantId;
    if (!(await apps.store.getApp(tenantId, name))) throw notFound(name);
    await checkAppConfig(context, tenantId, config);
    let version;
    try {
      version = await apps.store.publish(tenantId, name, config, Date.now());
    } catch (error) {
      throw new NimbusError('conflict', `Another version of '${name}' was published at the same moment; publish again.`, { cause: error });
    }
    if (!version) throw notFound(name);
    apps.forget(tenantId, name);
    return reply.code(201).send(versionView(version, version.version));
  });

  app.post('/v1/apps/:name/rollback', async (request) => {
    requireAdmin(request.principal);
    const name = nameOf(request);
    const { version } = parseRequest(rollbackSchema, request.body);
    const tenantId = request.principal.tenantId;
    if (!(await apps.store.getApp(tenantId, name))) throw notFound(name);
    if (!(await apps.store.setLive(tenantId, name, version, Date.now())))
      throw new NimbusError('invalid_value', `App '${name}' has no version ${version}. GET /v1/apps/${name}/versions lists them.`, { param: 'version' });
    apps.forget(tenantId, name);
    return appView((await apps.store.getApp(tenantId, name))!);
  });

  app.delete('/v1/apps/:name', async (request) => {
    requireAdmin(request.principal);
    const name = nameOf(request);
    if (!(await apps.store.deleteApp(request.principal.tenantId, name))) throw notFound(name);
    apps.forget(request.principal.tenantId, name);
    return { object: 'app.deleted', name, deleted: true };
  });

  // An end user's memory: read and forgotten by whoever may call the app (the end user's own service).
  app.get('/v1/apps/:name/memory/:user', async (request) => {
    const { name, user } = parseRequest(memoryParams, request.params);
    authorizeApp(request.principal, name);
    await readable(request, name);
    const memory = await apps.store.getMemory(request.principal.tenantId, name, user);
    const turns = memory?.turns ?? [];
    return { object: 'app.memory', app: name, user, turns, text: memoryText(turns), updated_at: memory ? Math.floor(memory.updatedAt / 1000) : null };
  });

  app.delete('/v1/apps/:name/memory/:user', async (request) => {
    const { name, user } = parseRequest(memoryParams, request.params);
    authorizeApp(request.principal, name);
    await readable(request, name);
    const deleted = await apps.store.deleteMemory(request.principal.tenantId, name, user);
    return { object: 'app.memory.deleted', app: name, user, deleted };
  });
}
