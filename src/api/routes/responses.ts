/** `/v1/responses`: create, retrieve, delete, cancel and input items (OpenAI's Responses API). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { appNameOf } from '../../apps/app-model.js';
import { NimbusError, toNimbusError } from '../../core/errors.js';
import { parseRequest } from '../../core/openai/parse-request.js';
import { responseRequestSchema, type ResponseRequest } from '../../core/openai/response-request-schema.js';
import type { ToolCall } from '../../core/openai/response-types.js';
import type { ResponseBuilder } from '../../responses/response-builder.js';
import type { Item } from '../../responses/response-items.js';
import type { ResponseRecords } from '../../responses/response-records.js';
import { functionExecutor } from '../../tools/function-executor.js';
import type { ToolExecutor } from '../../tools/tool-loop.js';
import { authorizeInference } from '../../tenancy/usage-gate.js';
import { resolveAppCall, type AppCall } from '../apps/app-call.js';
import { appNameSchema } from '../apps/app-config-schema.js';
import { presentedApprovals } from '../apps/app-extension.js';
import { appResponseRequest, endUserOf } from '../apps/app-response-request.js';
import { withApp } from '../apps/app-response-plan.js';
import { claimOrReplay, idempotencyKeyOf, settleKey, type StoredAnswer } from '../idempotency-key.js';
import { checkApprovalsHaveServers } from '../responses/mcp-tool.js';
import { planResponse } from '../responses/plan-response.js';
import { cancelledByRequest, serveResponse } from '../responses/serve-response.js';
import type { ItemMaker } from '../responses/server-tool-items.js';
import type { ServerContext } from '../server-context.js';

/** What the routes serve responses with (built by main.ts). */
export interface ResponseServices {
  records: ResponseRecords;
  /** Model turns a response may take calling server-side tools (config `responses.maxToolTurns`). */
  maxToolTurns: number;
  /** Executors for server-side tool kinds (file search, ...), by the tool's `type`. */
  serverTools?: Record<string, ServerToolKind>;
}

/** A server-side tool kind: for the request's tools of its type, an executor, its output items and the answer's citations. */
export interface ServerToolKind {
  /** `conversation`: the chain's items and this request's input, oldest first. */
  prepare(tools: ReadonlyArray<Record<string, unknown>>, request: FastifyRequest, body: ResponseRequest, conversation: readonly Item[]): Promise<PreparedTool>;
}

/** One request's tool of a server-side kind. */
export interface PreparedTool {
  executor: ToolExecutor;
  item: ItemMaker;
  /** Annotations of the final answer's text (file citations). */
  citations?(text: string): Array<Record<string, unknown>>;
  /** Another kind's result is about to reach the model (devices treat it as untrusted text); awaited before the loop goes on. */
  othersResult?(kind: string): Promise<void> | void;
  /** Whether a call had an effect outside Nimbus (a device command): a failure after it must not be retried. */
  acted?(): boolean;
  /** Work before the first turn, with its output items (an MCP server's tool listing). */
  setUp?(builder: ResponseBuilder, signal: AbortSignal): Promise<void>;
  /** Ends what `setUp` opened (sessions with MCP servers), after the response. */
  close?(): Promise<void>;
  /** Calls an earlier response halted on that the client answered in this request: run before the first turn. */
  resume?: ReadonlyArray<{ call: ToolCall; executor: ToolExecutor }>;
}

const idParams = z.object({ id: z.string().min(1).max(128) });
const appParams = z.object({ name: appNameSchema });
const itemsQuery = z.object({
  after: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(['asc', 'desc']).default('desc'),
  include: z.unknown().optional(),
});

/** Wraps a server-side executor so the other tools of the request hear of each of its results before the model does. */
function tellOthers(tool: PreparedTool, prepared: readonly PreparedTool[]): void {
  const executor = tool.executor;
  const others = prepared.filter((other) => other !== tool && other.othersResult !== undefined);
  const run = executor.run?.bind(executor);
  if (!run || others.length === 0) return;
  executor.run = async (call, step, engineCall) => {
    const outcome = await run(call, step, engineCall);
    for (const other of others) await other.othersResult?.(executor.kind);
    return outcome;
  };
}

/** What a request answered and whether it acted on a device: what its `Idempotency-Key` keeps. */
interface RequestOutcome {
  answer: StoredAnswer | undefined;
  acted: boolean;
}

function notFound(id: string): NimbusError {
  return new NimbusError('not_found', `Response with id '${id}' not found.`, { param: 'response_id' });
}

export function registerResponseRoutes(app: FastifyInstance, context: ServerContext, services: ResponseServices): void {
  const { records } = services;

  /** Creates a response; `appName` (from the path) calls that app whatever `model` says. */
  const create = async (request: FastifyRequest, reply: FastifyReply, outcome: RequestOutcome, appName?: string): Promise<void> => {
    let body = parseRequest(responseRequestSchema, appName !== undefined ? { ...(request.body as object), model: `app:${appName}` } : request.body);
    const calledApp = appName ?? appNameOf(body.model);
    let call: AppCall | undefined;
    let route;
    if (calledApp !== undefined) {
      call = await resolveAppCall(context, request, calledApp, endUserOf(body));
      body = appResponseRequest(body, call, presentedApprovals(call, (request.body as { nimbus?: unknown } | null)?.nimbus));
      // The rest of the request (admission, knowledge, later turns) runs as the app's principal.
      request.principal = call.principal;
      route = call.route;
    } else {
      authorizeInference(request.principal, body.model, context.catalog.canonical(body.model));
      await context.catalog.learn(body.model);
      route = context.catalog.route(body.model);
    }
    const store = body.store ?? true;
    if (store) await records.checkQuota(request.principal.tenantId);
    const plan = await planResponse(body, request, {
      records,
      route,
      contextLength: route.primary.engine.models().find((model) => model.id === route.primary.model)?.contextLength,
      maxToolTurns: services.maxToolTurns,
      tools: async (parsed, httpRequest, conversation) => {
        const executors: ToolExecutor[] = [];
        const items: Record<string, ItemMaker> = {};
        const prepared: PreparedTool[] = [];
        const tools = parsed.tools ?? [];
        const functions = tools.flatMap((tool) => (tool.type === 'function' ? [tool] : []));
        if (functions.length > 0) executors.push(functionExecutor(functions));
        const types = new Set(tools.map((tool) => tool.type));
        checkApprovalsHaveServers(conversation, parsed, types.has('mcp'));
        for (const type of types) {
          if (type === 'function') continue;
          const kind = services.serverTools?.[type];
          if (!kind) throw new NimbusError('unsupported_value', `Tools of type '${type}' are not available on this server.`, { param: 'tools' });
          const ofType = tools.filter((tool) => tool.type === type) as Array<Record<string, unknown>>;
          const tool = await kind.prepare(ofType, httpRequest, parsed, conversation);
          prepared.push(tool);
          executors.push(tool.executor);
          items[tool.executor.kind] = tool.item;
        }
        for (const tool of prepared) tellOthers(tool, prepared);
        return {
          executors,
          items,
          citations: (text) => prepared.flatMap((tool) => tool.citations?.(text) ?? []),
          acted: () => prepared.some((tool) => tool.acted?.() === true),
          setUp: async (builder, signal) => {
            for (const tool of prepared) await tool.setUp?.(builder, signal);
          },
          close: async () => {
            await Promise.all(prepared.map((tool) => tool.close?.() ?? Promise.resolve()));
          },
          resume: prepared.flatMap((tool) => tool.resume ?? []),
        };
      },
    });
    if (call) withApp(context, plan, call);
    try {
      await serveResponse(context, records, request, reply, plan, (answer) => {
        outcome.answer = answer;
      });
    } finally {
      outcome.acted = plan.acted();
    }
  };

  /** Creates a response; one that may act on devices runs once per `Idempotency-Key`, as chat's `nimbus.devices` (api/idempotency-key.ts). */
  const createOnce = async (request: FastifyRequest, reply: FastifyReply, appName?: string): Promise<FastifyReply | void> => {
    const { tools, model } = (request.body as { tools?: unknown; model?: unknown } | null) ?? {};
    const devices = context.devices;
    // An app's call may act through the app's devices, which its body does not show.
    const acts =
      appName !== undefined ||
      (typeof model === 'string' && appNameOf(model) !== undefined) ||
      (Array.isArray(tools) && tools.some((tool) => (tool as { type?: unknown } | null)?.type === 'nimbus_devices'));
    const key = devices && acts ? idempotencyKeyOf(request) : undefined;
    if (!devices || key === undefined) return create(request, reply, { answer: undefined, acted: false }, appName);
    if (!(await claimOrReplay(devices.gateway, request, reply, key))) return reply;
    const outcome: RequestOutcome = { answer: undefined, acted: false };
    try {
      await create(request, reply, outcome, appName);
    } catch (error) {
      const failure = toNimbusError(error);
      outcome.answer = { status: failure.status, body: failure.toJSON() };
      throw error;
    } finally {
      await settleKey(devices.gateway, request, key, outcome);
    }
  };

  app.post('/v1/responses', (request, reply) => createOnce(request, reply));
  app.post('/v1/apps/:name/responses', (request, reply) => createOnce(request, reply, parseRequest(appParams, request.params).name));

  app.get('/v1/responses/:id', async (request) => {
    const { id } = parseRequest(idParams, request.params);
    const response = await records.get(request.principal.tenantId, id);
    if (!response) throw notFound(id);
    return response;
  });

  app.delete('/v1/responses/:id', async (request) => {
    const { id } = parseRequest(idParams, request.params);
    const tenantId = request.principal.tenantId;
    if (records.isRunning(tenantId, id))
      throw new NimbusError('invalid_value', `Response '${id}' is still in progress: cancel it first (POST /v1/responses/${id}/cancel).`, {
        param: 'response_id',
      });
    if (!(await records.delete(tenantId, id))) throw notFound(id);
    return { id, object: 'response', deleted: true };
  });

  app.post('/v1/responses/:id/cancel', async (request) => {
    const { id } = parseRequest(idParams, request.params);
    const tenantId = request.principal.tenantId;
    const cancelled = await records.cancel(tenantId, id, cancelledByRequest);
    if (cancelled) return cancelled;
    const stored = await records.get(tenantId, id);
    if (!stored) throw notFound(id);
    throw new NimbusError('invalid_value', `Response '${id}' is ${String(stored.status)}: only a response in progress can be cancelled.`, {
      param: 'response_id',
    });
  });

  app.get('/v1/responses/:id/input_items', async (request) => {
    const { id } = parseRequest(idParams, request.params);
    const query = parseRequest(itemsQuery, request.query);
    const page = await records.inputItems(request.principal.tenantId, id, { after: query.after, limit: query.limit + 1, order: query.order });
    if (!page) throw notFound(id);
    const data = page.slice(0, query.limit);
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.length > query.limit };
  });
}
