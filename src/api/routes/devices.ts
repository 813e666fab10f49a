/**
 * The devices API: `GET /v1/devices`, `GET|PUT|DELETE /v1/devices/{id}`, and per device its twin,
 * history and commands; `PUT /v1/devices/{id}/properties/{name}` and
 * `POST /v1/devices/{id}/actions/{name}` propose commands through the same policy as models do.
 * A command that needs a human approval answers 202 with the approval request; presenting a
 * granted approval (`approval`) sends it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CommandState } from '../../core/device-store.js';
import { NimbusError } from '../../core/errors.js';
import { parseRequest } from '../../core/openai/parse-request.js';
import type { ActionReport, DeviceGateway } from '../../devices/device-gateway.js';
import type { Proposal } from '../../devices/policy.js';
import { newToolSession } from '../../devices/tool-session.js';
import { actionView, commandView, denialError, deviceView, historyView, twinView } from '../device-views.js';
import { claimOrReplay, idempotencyKeyOf, settleKey, type StoredAnswer } from '../idempotency-key.js';
import type { DeviceServices } from '../server-context.js';

const registerSchema = z.strictObject({
  model: z.record(z.string(), z.unknown()),
  rotate_secret: z.boolean().optional(),
  secret: z.string().min(16).max(200).optional(),
});
const commandOptions = { approval: z.string().min(1).max(64).optional(), wait: z.boolean().optional(), conversation: z.string().min(1).max(128).optional() };
const propertySchema = z.strictObject({ value: z.unknown(), ...commandOptions });
const actionSchema = z.strictObject({ input: z.unknown().optional(), ...commandOptions });
const listQuery = z.object({ since: z.coerce.number().int().optional(), limit: z.coerce.number().int().min(1).max(1000).optional() });
const commandsQuery = z.object({
  state: z.enum(['pending', 'acked', 'failed', 'timed_out', 'rejected']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

type Params = { id: string; name: string; command: string };

export function registerDeviceRoutes(app: FastifyInstance, devices: DeviceServices): void {
  const { gateway, admin } = devices;
  const twinOf = (request: FastifyRequest, id: string) => gateway.twin(request.principal.tenantId, id);

  app.get('/v1/mqtt', async () => ({
    object: 'mqtt.broker',
    url: devices.broker.url,
    embedded: devices.broker.embedded,
    protocol_version: devices.broker.protocolVersion,
    topic_root: devices.broker.topicRoot,
  }));

  app.get('/v1/devices', async (request) => ({
    object: 'list',
    data: admin.list(request.principal).map((device) => deviceView(device, twinOf(request, device.record.id))),
  }));

  app.put<{ Params: Params }>('/v1/devices/:id', async (request, reply) => {
    const body = parseRequest(registerSchema, request.body);
    const result = await admin.register(request.principal, request.params.id, body.model, {
      ...(body.rotate_secret ? { rotate: true } : {}),
      ...(body.secret ? { secret: body.secret } : {}),
    });
    // The secret is shown this once; the device logs in to MQTT as TENANT/ID with it.
    const login = result.secret ? { secret: result.secret, mqtt_username: `${request.principal.tenantId}/${request.params.id}` } : {};
    const view = { ...deviceView(result.device, twinOf(request, request.params.id)), ...login };
    return reply.code(result.created ? 201 : 200).send(view);
  });

  app.get<{ Params: Params }>('/v1/devices/:id', async (request) =>
    deviceView(admin.device(request.principal, request.params.id), twinOf(request, request.params.id)),
  );

  app.delete<{ Params: Params }>('/v1/devices/:id', async (request) => {
    await admin.remove(request.principal, request.params.id);
    return { id: request.params.id, object: 'device', deleted: true };
  });

  app.get<{ Params: Params }>('/v1/devices/:id/twin', async (request) => {
    admin.device(request.principal, request.params.id);
    return twinView(twinOf(request, request.params.id));
  });

  app.get<{ Params: Params }>('/v1/devices/:id/history', async (request) => {
    const query = parseRequest(listQuery, request.query);
    const entries = await admin.history(request.principal, request.params.id, {
      ...(query.since !== undefined ? { since: query.since } : {}),
      ...(query.limit ? { limit: query.limit } : {}),
    });
    return { object: 'list', data: entries.map(historyView) };
  });

  app.get<{ Params: Params }>('/v1/devices/:id/commands', async (request) => {
    const query = parseRequest(commandsQuery, request.query);
    const states: CommandState[] | undefined = query.state ? [query.state] : undefined;
    const commands = await admin.commands(request.principal, request.params.id, {
      ...(states ? { states } : {}),
      ...(query.limit ? { limit: query.limit } : {}),
    });
    return { object: 'list', data: commands.map(commandView) };
  });

  app.get<{ Params: Params }>('/v1/devices/:id/commands/:command', async (request) =>
    commandView(await admin.command(request.principal, request.params.id, request.params.command)),
  );

  app.put<{ Params: Params }>('/v1/devices/:id/properties/:name', async (request, reply) => {
    const body = parseRequest(propertySchema, request.body);
    const proposal: Proposal = { deviceId: request.params.id, kind: 'set', name: request.params.name, input: body.value, arguments: { value: body.value } };
    return once(gateway, request, reply, () => propose(request, proposal, body), 'value');
  });

  app.post<{ Params: Params }>('/v1/devices/:id/actions/:name', async (request, reply) => {
    const body = parseRequest(actionSchema, request.body ?? {});
    const input = body.input;
    const args = input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : undefined;
    const proposal: Proposal = { deviceId: request.params.id, kind: 'invoke', name: request.params.name, input, ...(args ? { arguments: args } : {}) };
    return once(gateway, request, reply, () => propose(request, proposal, body), 'input');
  });

  function propose(
    request: FastifyRequest,
    proposal: Proposal,
    body: { approval?: string | undefined; wait?: boolean | undefined; conversation?: string | undefined },
  ): Promise<ActionReport> {
    const session = newToolSession(request.principal, 'rest', { conversation: body.conversation ?? null, approvals: body.approval ? [body.approval] : [] });
    return gateway.propose(session, proposal, { wait: body.wait ?? true });
  }
}

/**
 * 200 with the command once it settled, 202 while it is pending or waits for approval, an error
 * when denied, 504 with the command's id and state when the device did not answer in time.
 */
function answerOf(report: ActionReport, param: string): { status: number; body: object } {
  if (report.status === 'denied') throw denialError(report, param);
  if (report.status === 'timed_out') {
    throw new NimbusError(
      'device_timeout',
      `${report.message}; the command was sent and may still act. GET /v1/devices/${report.deviceId}/commands/${report.commandId} tells its state.`,
      {
        details: { command: report.commandId, state: report.status },
      },
    );
  }
  return { status: report.status === 'pending' || report.status === 'approval_required' ? 202 : 200, body: { object: 'device.action', ...actionView(report) } };
}

/**
 * Runs a command at most once per `Idempotency-Key` of a key (kept 24 h), through the mechanism
 * chat, responses and MCP share: a retry while the first still runs waits for its answer, a retry
 * after gets the stored answer without acting again; a key reused for another request is refused.
 * A refusal before anything was sent frees the key, so a fixed retry runs; a timeout (the command
 * was sent and may still act) keeps its 504. Answers are kept as their body alone, as before.
 */
async function once(gateway: DeviceGateway, request: FastifyRequest, reply: FastifyReply, run: () => Promise<ActionReport>, param: string): Promise<unknown> {
  const key = idempotencyKeyOf(request);
  if (!key) {
    const answer = answerOf(await run(), param);
    return reply.code(answer.status).send(answer.body);
  }
  if (!(await claimOrReplay(gateway, request, reply, key, 'body'))) return reply;
  let answer: StoredAnswer;
  try {
    answer = answerOf(await run(), param);
  } catch (error) {
    const timedOut = error instanceof NimbusError && error.code === 'device_timeout';
    const outcome = timedOut ? { answer: { status: error.status, body: error.toJSON() }, acted: true } : { answer: undefined, acted: false };
    await settleKey(gateway, request, key, outcome, 'body');
    throw error;
  }
  // A 200 or 202, kept whatever it did; stored before it is sent, so a retry the moment it arrives finds it.
  await settleKey(gateway, request, key, { answer, acted: false }, 'body');
  return reply.code(answer.status).send(answer.body);
}
