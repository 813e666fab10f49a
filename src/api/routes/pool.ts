/**
 * The pool over HTTP. Worker API (the worker's credential, not an API key): `POST
 * /v1/pool/workers/join` (with a join token), `POST /v1/pool/workers/heartbeat` (answers the
 * replicas to run), `POST /v1/pool/workers/leave`, `GET /v1/pool/files/{deployment}` (the GGUF, with Range). Admin API (the
 * operator): join tokens, `/v1/deployments` (deploy, list, read one, scale or autoscale, remove, explain) and
 * `/v1/pool/workers` (list, drain, remove a dead one). The list holds the joined workers, then the static ones: the
 * upstream engines of the configuration (`staticWorkers`), which serve their own models.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NimbusError } from '../../core/errors.js';
import { parseRequest } from '../../core/openai/parse-request.js';
import type { AutoscaleChange, PoolControl, StaticWorkerView } from '../../core/pool-control.js';
import type { WorkerRecord } from '../../core/pool-store.js';
import { keepMs, sampleMs, WorkerHistory, type WorkerSample } from '../../pool/worker-history.js';
import { requireOperator } from '../admin-access.js';
import { deploySchema, drainSchema, heartbeatSchema, joinSchema, joinTokenSchema, scaleSchema } from '../pool-schemas.js';
import { sendModelFile } from '../send-model-file.js';

/** Paths a worker calls with its own credential; the API-key resolver lets them through to be checked here. */
export const workerPaths = ['/v1/pool/workers/join', '/v1/pool/workers/heartbeat', '/v1/pool/workers/leave', '/v1/pool/files/:deployment'];

type Named = { Params: { name: string } };

/** A sample as the API writes it: snake_case, time in unix seconds. */
function sampleView(sample: WorkerSample): Record<string, unknown> {
  return {
    at: sample.at / 1000,
    cpu_utilization: sample.cpuUtilization,
    ram_used_bytes: sample.ramUsedBytes,
    ram_total_bytes: sample.ramTotalBytes,
    tokens_per_second: sample.tokensPerSecond,
    gpus: sample.gpus.map((gpu) => ({ index: gpu.index, used_bytes: gpu.usedBytes, total_bytes: gpu.totalBytes, utilization_percent: gpu.utilizationPercent })),
  };
}

export function registerPoolRoutes(app: FastifyInstance, pool: PoolControl, staticWorkers: () => StaticWorkerView[] = () => []): void {
  const worker = async (request: FastifyRequest): Promise<WorkerRecord> => {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const found = token ? await pool.authenticateWorker(token) : undefined;
    if (!found) throw new NimbusError('invalid_api_key', 'This call needs the credential the worker got when it joined; join again with a fresh token.');
    return found;
  };

  app.post('/v1/pool/workers/join', async (request) => pool.join(parseRequest(joinSchema, request.body)));

  // Workers over time: what each heartbeat that reached this process reported (worker-history.ts).
  const history = new WorkerHistory();
  app.post('/v1/pool/workers/heartbeat', async (request) => {
    const caller = await worker(request);
    const body = parseRequest(heartbeatSchema, request.body);
    const answer = await pool.heartbeat(caller, body);
    history.record(caller.name, body.hardware, body.load, Date.now());
    return answer;
  });

  app.get<Named>('/v1/pool/workers/:name/metrics', async (request) => {
    requireOperator(request.principal, 'read workers over time');
    const since = Number((request.query as { since?: string }).since ?? 0);
    if (!Number.isFinite(since) || since < 0) throw new NimbusError('invalid_value', "Invalid value for 'since': unix seconds.", { param: 'since' });
    const samples = history.samples(request.params.name, since * 1000);
    return { object: 'list', worker: request.params.name, sample_seconds: sampleMs / 1000, keep_seconds: keepMs / 1000, data: samples.map(sampleView) };
  });

  app.post('/v1/pool/workers/leave', async (request) => {
    const caller = await worker(request);
    await pool.leave(caller);
    return { name: caller.name, left: true };
  });

  app.get<{ Params: { deployment: string } }>('/v1/pool/files/:deployment', async (request, reply) => {
    const caller = await worker(request);
    return sendModelFile(request, reply, await pool.modelFile(caller, request.params.deployment));
  });

  app.post('/v1/pool/join-tokens', async (request, reply) => {
    requireOperator(request.principal, 'create join tokens');
    const body = parseRequest(joinTokenSchema, request.body ?? {});
    const created = await pool.createJoinToken(body.expires_in_seconds === undefined ? undefined : body.expires_in_seconds * 1000);
    return reply.code(201).send({ id: created.id, token: created.token, expires_at: created.expiresAt });
  });

  app.get('/v1/pool/workers', async (request) => {
    requireOperator(request.principal, 'list workers');
    return { object: 'list', data: [...(await pool.workers()), ...staticWorkers()] };
  });

  app.post<Named>('/v1/pool/workers/:name/drain', async (request) => {
    requireOperator(request.principal, 'drain workers');
    if (staticWorkers().some((worker) => worker.name === request.params.name)) {
      throw new NimbusError(
        'invalid_value',
        `'${request.params.name}' is an upstream engine from the configuration, not a joined worker: it takes no placements to move. Remove its models from 'upstreamModels' to stop sending it requests.`,
        { param: 'name' },
      );
    }
    return pool.drain(request.params.name, parseRequest(drainSchema, request.body ?? {}).draining);
  });

  app.delete<Named>('/v1/pool/workers/:name', async (request) => {
    requireOperator(request.principal, 'remove workers');
    if (staticWorkers().some((worker) => worker.name === request.params.name)) {
      throw new NimbusError(
        'invalid_value',
        `'${request.params.name}' is an upstream engine from the configuration, not a joined worker; remove its models from 'upstreamModels' instead.`,
        { param: 'name' },
      );
    }
    await pool.removeWorker(request.params.name);
    history.forget(request.params.name);
    return { name: request.params.name, removed: true };
  });

  app.get('/v1/deployments', async (request) => {
    requireOperator(request.principal, 'list deployments');
    return { object: 'list', data: await pool.deployments() };
  });

  app.get<Named>('/v1/deployments/:name', async (request) => {
    requireOperator(request.principal, 'read deployments');
    const found = (await pool.deployments()).find((deployment) => deployment.name === request.params.name);
    if (!found) throw new NimbusError('not_found', `No deployment '${request.params.name}'. 'nimbus deployments' lists them.`, { param: 'name' });
    return found;
  });

  app.post('/v1/deployments', async (request, reply) => {
    requireOperator(request.principal, 'deploy models');
    const body = parseRequest(deploySchema, request.body);
    const name = body.name ?? defaultName(body.model);
    const autoscale = autoscaleChangeOf(body);
    const view = await pool.deploy({
      name,
      source: body.model,
      ...(body.replicas === undefined ? {} : { replicas: body.replicas }),
      device: body.device,
      contextSize: body.context_size,
      slots: body.slots,
      ...(body.spare_slots === undefined ? {} : { spareSlots: body.spare_slots }),
      routing: body.routing,
      ...(autoscale ? { autoscale } : {}),
    });
    return reply.code(201).send(view);
  });

  app.patch<Named>('/v1/deployments/:name', async (request) => {
    requireOperator(request.principal, 'scale deployments');
    const body = parseRequest(scaleSchema, request.body);
    const autoscale = autoscaleChangeOf(body);
    if (body.replicas === undefined && autoscale === undefined) {
      throw new NimbusError('missing_required_parameter', "Missing required parameter: 'replicas' (or min_replicas / max_replicas to autoscale).", {
        param: 'replicas',
      });
    }
    return pool.scale(request.params.name, {
      ...(body.replicas === undefined ? {} : { replicas: body.replicas }),
      ...(autoscale === undefined ? {} : { autoscale }),
    });
  });

  app.delete<Named>('/v1/deployments/:name', async (request) => {
    requireOperator(request.principal, 'remove deployments');
    if (!(await pool.remove(request.params.name)))
      throw new NimbusError('not_found', `No deployment '${request.params.name}'. 'nimbus deployments' lists them.`, { param: 'name' });
    return { id: request.params.name, object: 'deployment', deleted: true };
  });

  app.get<Named>('/v1/deployments/:name/explain', async (request) => {
    requireOperator(request.principal, 'explain deployments');
    return { deployment: request.params.name, lines: await pool.explain(request.params.name) };
  });
}

/** The autoscale fields of a body: a change, `false` to stop autoscaling, or undefined when it says nothing about it. */
function autoscaleChangeOf(body: {
  autoscale?: boolean | undefined;
  min_replicas?: number | undefined;
  max_replicas?: number | undefined;
  target_queue_per_replica?: number | undefined;
  scale_down_delay_ms?: number | undefined;
  scale_from_zero_timeout_ms?: number | undefined;
}): AutoscaleChange | false | undefined {
  const change: AutoscaleChange = {
    ...(body.min_replicas === undefined ? {} : { minReplicas: body.min_replicas }),
    ...(body.max_replicas === undefined ? {} : { maxReplicas: body.max_replicas }),
    ...(body.target_queue_per_replica === undefined ? {} : { targetQueuePerReplica: body.target_queue_per_replica }),
    ...(body.scale_down_delay_ms === undefined ? {} : { scaleDownDelayMs: body.scale_down_delay_ms }),
    ...(body.scale_from_zero_timeout_ms === undefined ? {} : { scaleFromZeroTimeoutMs: body.scale_from_zero_timeout_ms }),
  };
  const given = Object.keys(change).length > 0;
  if (body.autoscale === false) {
    if (given)
      throw new NimbusError('invalid_value', '"autoscale": false fixes the count; drop the autoscale settings, or drop "autoscale".', { param: 'autoscale' });
    return false;
  }
  return given || body.autoscale === true ? change : undefined;
}

/** The name a deployment gets from its model: the file name without `.gguf`. */
function defaultName(model: string): string {
  const file = model.split(/[\\/]/).pop() ?? model;
  const name = file.replace(/\.gguf$/i, '').replace(/[^\w.:-]/g, '-');
  if (!/^[\w.:/-]{1,128}$/.test(name))
    throw new NimbusError('invalid_value', 'Cannot derive a deployment name from the model; pass "name".', { param: 'name' });
  return name;
}
