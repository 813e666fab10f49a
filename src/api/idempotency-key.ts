/**
 * `Idempotency-Key` for requests that act on devices: a device command over REST, a chat
 * completion with `nimbus.devices`, `/v1/responses` with device tools and an MCP `POST /mcp`. The
 * first request with a key (per API key, kept 24 h in the store, shared by every control plane)
 * runs; a retry while it runs waits for it a while (up to `runningWaitMs`, as soon as it settles
 * when it runs in this process) and then gets its answer, or a 409 that may be retried if it
 * still runs; a retry after gets the stored answer without acting again. A request that acted on
 * nothing frees its key, so a corrected retry runs.
 *
 * The answer reaches the client just before its key is settled (the chat formats write it
 * synchronously), so a client that retries the moment it has an answer, or that lost the
 * connection at the last byte, would otherwise meet its own request still "running".
 *
 * The official OpenAI SDK sends no idempotency header of its own (openai 6.x sets none), but it
 * resends the headers it was given on each of its retries: `{ headers: { 'Idempotency-Key': k } }`
 * as a request option makes an SDK retry of a chat that actuated return the first answer.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { NimbusError } from '../core/errors.js';
import { canonicalJson, sha256 } from '../devices/canonical-json.js';
import type { DeviceGateway } from '../devices/device-gateway.js';

/** A stored answer: a JSON body, or the final chunk of a streamed chat (`stream`), replayed as SSE. */
export interface StoredAnswer {
  status: number;
  body: unknown;
  stream?: boolean;
}

/**
 * How a route's answers are kept in the store: `answer` as `{ stream, body }` (chat,
 * `/v1/responses`, MCP), `body` as the JSON body alone, which is how the device REST route has
 * always kept them: its keys already stored replay, and control planes of the previous version
 * (still serving beside this one during an upgrade) replay what this one stores.
 */
export type StoredShape = 'answer' | 'body';

/** How long a retry waits for the first request with its key to settle before a 409. */
export const runningWaitMs = 5_000;
const pollMs = 100;

/** Requests in this process holding a key, each settled (resolved) when its answer is stored. */
const holders = new Map<string, { settled: Promise<void>; resolve: () => void }>();
const holderOf = new WeakMap<FastifyRequest, string>();

function holderKey(request: FastifyRequest, key: string): string {
  return JSON.stringify([request.principal.tenantId, request.principal.keyId ?? null, key]);
}

/** The request's `Idempotency-Key`, if it has one (at most 200 characters are used). */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers['idempotency-key'];
  return typeof header === 'string' && header.length > 0 ? header.slice(0, 200) : undefined;
}

/**
 * Claims `key` for this request. Resolves to true when this request holds it and must run; to
 * false when the stored answer of the first request was sent; throws 409 while the first runs or
 * when the key was used for another request.
 */
export async function claimOrReplay(
  gateway: DeviceGateway,
  request: FastifyRequest,
  reply: FastifyReply,
  key: string,
  shape: StoredShape = 'answer',
): Promise<boolean> {
  const requestHash = sha256(canonicalJson({ method: request.method, url: request.url, body: request.body ?? null }));
  const deadline = Date.now() + runningWaitMs;
  let held = await gateway.claimIdempotency(request.principal, key, requestHash);
  // The first request still runs: wait for it (here, until it settles; on another plane, by polling the store).
  while (held?.state === 'running' && held.requestHash === requestHash && Date.now() < deadline) {
    const local = holders.get(holderKey(request, key));
    const left = deadline - Date.now();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, local ? left : Math.min(pollMs, left));
      void local?.settled.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    held = await gateway.claimIdempotency(request.principal, key, requestHash);
  }
  if (!held) {
    const holder = holderKey(request, key);
    let resolve = (): void => undefined;
    const settled = new Promise<void>((done) => (resolve = done));
    holders.set(holder, { settled, resolve });
    holderOf.set(request, holder);
    return true;
  }
  if (held.requestHash !== requestHash) {
    throw new NimbusError('conflict', `Idempotency-Key '${key}' was used for another request; use a new key for a new request.`, {
      param: 'Idempotency-Key',
      headers: { 'x-should-retry': 'false' },
    });
  }
  if (held.state === 'running') {
    throw new NimbusError('conflict', `A request with Idempotency-Key '${key}' is still running; retry to get its answer.`, {
      headers: { 'retry-after': '1', 'x-should-retry': 'true' },
    });
  }
  const stored = shape === 'body' ? { body: held.body } : (held.body as { stream?: boolean; body?: unknown } | null);
  void reply.code(held.status ?? 200).header('idempotent-replayed', 'true');
  if ((held.status ?? 200) >= 400) void reply.header('x-should-retry', 'false');
  if (stored?.stream) void reply.type('text/event-stream').send(`data: ${JSON.stringify(stored.body)}\n\ndata: [DONE]\n\n`);
  else void reply.type('application/json').send(stored?.body ?? null);
  return false;
}

/**
 * Stores what a request that held `key` answered (when it answered, or acted on a device), or
 * frees the key when it did neither: nothing happened, so a retry must run.
 */
export async function settleKey(
  gateway: DeviceGateway,
  request: FastifyRequest,
  key: string,
  outcome: { answer: StoredAnswer | undefined; acted: boolean },
  shape: StoredShape = 'answer',
): Promise<void> {
  try {
    await settle(gateway, request, key, outcome, shape);
  } finally {
    const holder = holderOf.get(request);
    if (holder !== undefined) {
      holders.get(holder)?.resolve();
      holders.delete(holder);
      holderOf.delete(request);
    }
  }
}

async function settle(
  gateway: DeviceGateway,
  request: FastifyRequest,
  key: string,
  outcome: { answer: StoredAnswer | undefined; acted: boolean },
  shape: StoredShape,
): Promise<void> {
  const { answer, acted } = outcome;
  const kept = (stored: StoredAnswer): unknown => (shape === 'body' ? stored.body : { stream: stored.stream === true, body: stored.body });
  if (answer && (answer.status < 400 || acted)) {
    await gateway.settleIdempotency(request.principal, key, { status: answer.status, body: kept(answer) });
  } else if (acted) {
    // It acted and then never answered (the client left, the server failed between): a retry must not act again.
    const error = new NimbusError(
      'conflict',
      `The first request with Idempotency-Key '${key}' acted on devices and did not finish answering; GET /v1/audit?conversation=... or the devices' command lists tell what it did.`,
    );
    await gateway.settleIdempotency(request.principal, key, { status: error.status, body: kept({ status: error.status, body: error.toJSON() }) });
  } else await gateway.settleIdempotency(request.principal, key, undefined);
}
