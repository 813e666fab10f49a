/**
 * The control plane's model cache over HTTP (the operator's, like deployments): `GET
 * /v1/model-files` (each file with what uses it), `POST /v1/model-files/pull` (202 and a pull
 * job; a second pull of the same reference joins the running one), `GET /v1/model-files/pulls`,
 * `GET /v1/model-files/pulls/{id}`, and `DELETE /v1/model-files/{ref}` (404 when absent, 409
 * while a deployment or a configured model uses it or a pull of it runs). Pull progress goes to
 * the live feed as `model_pull` events.
 */
import { stat } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NimbusError } from '../../core/errors.js';
import type { LiveEvent } from '../../core/live-events.js';
import { parseRequest } from '../../core/openai/parse-request.js';
import { defaultTenantId } from '../../core/principal.js';
import type { CachedModel } from '../../models/model-cache.js';
import { PullRefError, type PullJob } from '../../models/model-pulls.js';
import { formatModelRef, ModelRefError, parseModelRef } from '../../models/model-ref.js';
import { requireOperator } from '../admin-access.js';
import type { ModelFileServices, ServerContext } from '../server-context.js';

const pullSchema = z.strictObject({ ref: z.string().min(1).max(1024) });
const seconds = (milliseconds: number): number => Math.floor(milliseconds / 1000);

/** A pull job as the API and the live feed show it. */
export function pullView(job: PullJob): object {
  return {
    object: 'model_pull',
    id: job.id,
    ref: job.ref,
    state: job.state,
    bytes: job.bytes,
    total: job.total,
    error: job.error,
    created_at: seconds(job.createdAt),
    finished_at: job.finishedAt === null ? null : seconds(job.finishedAt),
  };
}

/** The live event of a pull's progress: the operator's only. */
export function pullLiveEvent(job: PullJob): LiveEvent {
  return { type: 'model_pull', tenantId: defaultTenantId, keyId: null, deviceId: null, adminOnly: true, data: pullView(job) };
}

/** A bad model reference as the 400 that names `ref`; any other error as it is. */
function refFailure(error: unknown): unknown {
  return error instanceof ModelRefError || error instanceof PullRefError ? new NimbusError('invalid_value', error.message, { param: 'ref' }) : error;
}

/** A reference from the request, parsed, or the 400 that names `ref`. */
function parsedRef(text: string): ReturnType<typeof parseModelRef> {
  try {
    return parseModelRef(text);
  } catch (error) {
    throw refFailure(error);
  }
}

export function registerModelFileRoutes(app: FastifyInstance, context: ServerContext, files: ModelFileServices): void {
  const { cache, pulls } = files;
  const stopWatching = pulls.watch((job) => context.events.publish(pullLiveEvent(job)));
  app.addHook('onClose', async () => {
    stopWatching();
    pulls.close();
  });

  /** Who uses each cached path: deployments by name, configured models by id. */
  const usersByPath = async (): Promise<Map<string, string[]>> => {
    const users = new Map<string, string[]>();
    const add = (source: string, user: string): void => {
      let path: string;
      try {
        path = cache.localPath(source);
      } catch {
        return; // a source that is not a model reference uses no cached file
      }
      users.set(path, [...(users.get(path) ?? []), user]);
    };
    for (const deployment of await context.store.pool.listDeployments()) add(deployment.source, `deployment ${deployment.name}`);
    for (const model of files.configured) add(model.source, `configured model ${model.id}`);
    return users;
  };

  const fileView = (file: CachedModel, users: Map<string, string[]>): object => {
    const path = file.incomplete ? file.path.slice(0, -'.part'.length) : file.path;
    return {
      object: 'model_file',
      ref: file.ref,
      path: file.path,
      size: file.size,
      modified_at: seconds(file.modifiedAt.getTime()),
      incomplete: file.incomplete,
      in_use_by: file.incomplete ? [] : (users.get(path) ?? []),
      pulling: pulls.pulling(file.ref),
    };
  };

  /**
   * Configured models served from a file outside the cache (`--model ./file.gguf`): listed beside
   * the cached ones so the operator sees every file in use, marked `external` (never deleted here).
   */
  const externalFiles = async (cached: readonly CachedModel[]): Promise<object[]> => {
    const inCache = new Set(cached.map((file) => file.path));
    const byPath = new Map<string, string[]>();
    for (const model of files.configured) {
      let path: string;
      try {
        if (parseModelRef(model.source).kind !== 'file') continue; // a hub reference: its file is in the cache list
        path = cache.localPath(model.source);
      } catch {
        continue;
      }
      if (!inCache.has(path)) byPath.set(path, [...(byPath.get(path) ?? []), `configured model ${model.id}`]);
    }
    const views: object[] = [];
    for (const [path, users] of byPath) {
      const found = await stat(path).catch(() => undefined);
      if (!found?.isFile()) continue;
      views.push({
        object: 'model_file',
        ref: path,
        path,
        size: found.size,
        modified_at: seconds(found.mtimeMs),
        incomplete: false,
        in_use_by: users,
        pulling: false,
        external: true,
      });
    }
    return views;
  };

  app.get('/v1/model-files', async (request) => {
    requireOperator(request.principal, 'list model files');
    const [list, users] = await Promise.all([cache.list(), usersByPath()]);
    const external = await externalFiles(list);
    return { object: 'list', data: [...list.map((file) => fileView(file, users)), ...external] };
  });

  app.post('/v1/model-files/pull', async (request, reply) => {
    requireOperator(request.principal, 'pull models');
    const body = parseRequest(pullSchema, request.body);
    try {
      const { job, joined } = pulls.start(body.ref);
      return reply.code(202).send({ ...pullView(job), joined });
    } catch (error) {
      throw refFailure(error);
    }
  });

  app.get('/v1/model-files/pulls', async (request) => {
    requireOperator(request.principal, 'list model pulls');
    return { object: 'list', data: pulls.list().map(pullView) };
  });

  app.get<{ Params: { id: string } }>('/v1/model-files/pulls/:id', async (request) => {
    requireOperator(request.principal, 'read model pulls');
    const job = pulls.get(request.params.id);
    if (!job) throw new NimbusError('not_found', `No pull '${request.params.id}'. GET /v1/model-files/pulls lists the recent ones.`, { param: 'id' });
    return pullView(job);
  });

  // The reference holds '/' and ':': a wildcard takes it whole, raw or URL-encoded.
  app.delete<{ Params: { '*': string } }>('/v1/model-files/*', async (request) => {
    requireOperator(request.principal, 'delete model files');
    const ref = parsedRef(request.params['*']);
    const name = formatModelRef(ref);
    if (pulls.pulling(name)) throw new NimbusError('conflict', `${name} is being pulled right now; delete it when the pull has ended.`, { param: 'ref' });
    const users = (await usersByPath()).get(cache.localPath(ref)) ?? [];
    if (users.length > 0) {
      throw new NimbusError('conflict', `${name} is in use by ${users.join(', ')}; remove those first (a configured model: from the configuration).`, {
        param: 'ref',
      });
    }
    let removed: boolean;
    try {
      removed = await cache.remove(ref);
    } catch (error) {
      throw new NimbusError('invalid_value', (error as Error).message, { param: 'ref' });
    }
    if (!removed) throw new NimbusError('not_found', `${name} is not in the model cache. GET /v1/model-files lists what is.`, { param: 'ref' });
    return { object: 'model_file', ref: name, deleted: true };
  });
}
