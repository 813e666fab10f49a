/**
 * The MCP endpoint (streamable HTTP transport, JSON responses): `POST /mcp` takes one JSON-RPC
 * message (or a batch) and answers with JSON, 202 for notifications. `initialize` opens a session
 * (`Mcp-Session-Id`), which keeps the conversation's state for the policy: untrusted text seen,
 * devices actuated. `GET /mcp` is 405 (no server-initiated stream), `DELETE /mcp` ends a session.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NimbusError } from '../../core/errors.js';
import { isRequest, McpHandler } from '../../devices/mcp-handler.js';
import { newToolSession, type ToolSession } from '../../devices/tool-session.js';
import { claimOrReplay, idempotencyKeyOf, settleKey, type StoredAnswer } from '../idempotency-key.js';
import type { DeviceServices } from '../server-context.js';

const idleMs = 30 * 60_000;
const maxSessions = 10_000;

interface McpSession {
  session: ToolSession;
  lastUsed: number;
}

export function registerMcpRoute(app: FastifyInstance, devices: DeviceServices, version: string): void {
  const handler = new McpHandler(devices.gateway, version);
  const sessions = new Map<string, McpSession>();

  /** The caller's session, or 404 (the client then initializes again), as the transport specifies. */
  function sessionOf(request: FastifyRequest): McpSession {
    const id = request.headers['mcp-session-id'];
    const found = typeof id === 'string' ? sessions.get(id) : undefined;
    const principal = request.principal;
    if (!found || found.session.principal.tenantId !== principal.tenantId || found.session.principal.keyId !== principal.keyId) {
      throw new NimbusError('not_found', 'Unknown or expired MCP session: send initialize again.');
    }
    found.lastUsed = Date.now();
    return found;
  }

  function open(request: FastifyRequest, reply: FastifyReply): McpSession {
    const now = Date.now();
    for (const [id, entry] of sessions) if (now - entry.lastUsed > idleMs || sessions.size >= maxSessions) sessions.delete(id);
    const id = randomBytes(16).toString('hex');
    const entry = { session: newToolSession(request.principal, 'mcp', { conversation: `mcp_${id.slice(0, 12)}` }), lastUsed: now };
    sessions.set(id, entry);
    void reply.header('mcp-session-id', id);
    return entry;
  }

  app.post('/mcp', async (request, reply) => {
    const body = request.body;
    const messages = Array.isArray(body) ? (body as unknown[]) : [body];
    const initializing = messages.some((message) => isRequest(message) && message.method === 'initialize');
    const entry = initializing ? open(request, reply) : sessionOf(request);
    // Tool calls may act on devices: with an Idempotency-Key they run once, and a retry gets the first answer (api/idempotency-key.ts).
    const calls = messages.some((message) => isRequest(message) && message.method === 'tools/call');
    const key = calls ? idempotencyKeyOf(request) : undefined;
    if (key && !(await claimOrReplay(devices.gateway, request, reply, key))) return reply;
    const answers = [];
    let answered: StoredAnswer | undefined;
    try {
      entry.session.planned = handler.plan(messages, entry.session);
      for (const message of messages) {
        const answer = await handler.handle(message, entry.session);
        if (answer) answers.push(answer);
      }
      answered = { status: answers.length === 0 ? 202 : 200, body: Array.isArray(body) ? answers : (answers[0] ?? null) };
    } finally {
      entry.session.planned = new Set();
      if (key) await settleKey(devices.gateway, request, key, { answer: answered, acted: answers.length > 0 });
    }
    if (answers.length === 0) return reply.code(202).send();
    return reply.type('application/json').send(Array.isArray(body) ? answers : answers[0]);
  });

  app.get('/mcp', async (_request, reply) => reply.code(405).header('allow', 'POST, DELETE').send());

  app.delete('/mcp', async (request, reply) => {
    const id = request.headers['mcp-session-id'];
    if (typeof id === 'string') sessions.delete(id);
    return reply.code(200).send();
  });
}
