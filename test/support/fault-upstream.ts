/**
 * A fault-injecting OpenAI-compatible upstream: a small node:http server whose next answers are
 * scripted (a status, a stall, a dropped connection, a stream split at every byte, no usage),
 * and which records every request it got, so a test can say exactly which tries were made.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the upstream does with one request. */
export type Fault =
  /**
   * Answers normally; `usage: false` leaves usage out; `split: 'byte'` writes a stream one byte
   * at a time; `filler` adds that many extra content events (" x") before the answer, in the same write.
   */
  | { kind: 'ok'; usage?: boolean; split?: 'byte'; filler?: number }
  /** Answers with this status, body and headers. */
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Never answers: no headers, no body, until the client gives up. */
  | { kind: 'stall' }
  /** Sends 200 and the event-stream headers, then nothing. */
  | { kind: 'stall-after-headers' }
  /** Streams the role chunk and `events` content chunks, then destroys the connection. */
  | { kind: 'drop-after'; events: number }
  /** Streams the role chunk and `events` content chunks, then goes silent without closing. */
  | { kind: 'stall-after'; events: number }
  /** Answers with this status and an error that repeats the request's Authorization header (as careless servers do). */
  | { kind: 'echo-auth'; status: number };

/** A request as the upstream received it. */
export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** Milliseconds since the upstream started. */
  at: number;
}

/** The words of every answer, one content chunk each. */
export const answerWords = ['Hello', ' from', ' the', ' fault', ' upstream', '.'];
export const answerText = answerWords.join('');
export const upstreamUsage = { prompt_tokens: 7, completion_tokens: answerWords.length, total_tokens: 7 + answerWords.length };

function chunk(model: string, delta: object, finish: string | null): object {
  return {
    id: 'chatcmpl-fault',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
}

/** The events of a streamed answer, as SSE text. */
function streamEvents(model: string, withUsage: boolean, contentEvents = answerWords.length): string[] {
  const events = [
    chunk(model, { role: 'assistant', content: '' }, null),
    ...answerWords.slice(0, contentEvents).map((word) => chunk(model, { content: word }, null)),
  ];
  if (contentEvents >= answerWords.length) {
    events.push(chunk(model, {}, 'stop'));
    if (withUsage) events.push({ id: 'chatcmpl-fault', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [], usage: upstreamUsage });
  }
  return [...events.map((event) => `data: ${JSON.stringify(event)}\n\n`), ...(contentEvents >= answerWords.length ? ['data: [DONE]\n\n'] : [])];
}

function wholeAnswer(model: string, withUsage: boolean): string {
  return JSON.stringify({
    id: 'chatcmpl-fault',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: answerText }, logprobs: null, finish_reason: 'stop' }],
    ...(withUsage ? { usage: upstreamUsage } : {}),
  });
}

/** Embeddings of each input: `dimensions` numbers (4 unless asked), the input's length repeated. */
function embeddingsAnswer(model: string, body: Record<string, unknown>): string {
  const inputs = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input)];
  const size = typeof body.dimensions === 'number' ? body.dimensions : 4;
  return JSON.stringify({
    object: 'list',
    model,
    data: inputs.map((input, index) => ({ object: 'embedding', index, embedding: Array.from({ length: size }, () => input.length) })),
    usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
  });
}

const sse = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

export class FaultUpstream {
  readonly requests: ReceivedRequest[] = [];
  /** What it does when the script is empty (normal answers unless set). */
  always: Fault | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly started = performance.now();
  private readonly server = createServer((request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (data: string) => (text += data));
    request.on('end', () => {
      const body = JSON.parse(text || '{}') as Record<string, unknown>;
      this.requests.push({ path: request.url ?? '', headers: request.headers, body, at: performance.now() - this.started });
      void this.answer(this.plan.shift() ?? this.always ?? { kind: 'ok' }, body, response, request.url ?? '');
    });
  });
  url = '';

  /** `plan`: the script of next answers, which several upstreams may share (the first request to any of them takes the first fault). */
  private constructor(private readonly plan: Fault[]) {}

  /** Starts listening on a free port. */
  static async start(plan: Fault[] = []): Promise<FaultUpstream> {
    const upstream = new FaultUpstream(plan);
    upstream.server.on('connection', (socket: Socket) => {
      upstream.sockets.add(socket);
      socket.on('close', () => upstream.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => upstream.server.listen(0, '127.0.0.1', resolve));
    upstream.url = `http://127.0.0.1:${(upstream.server.address() as AddressInfo).port}`;
    return upstream;
  }

  /** Scripts the next answers, in order; after them, answers are normal. */
  next(...faults: Fault[]): void {
    this.plan.push(...faults);
  }

  /** Forgets the script, the standing fault and the requests seen. */
  reset(): void {
    this.plan.length = 0;
    this.requests.length = 0;
    this.always = undefined;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async answer(fault: Fault, body: Record<string, unknown>, response: ServerResponse, path: string): Promise<void> {
    const model = typeof body.model === 'string' ? body.model : 'unknown';
    const stream = body.stream === true;
    const wantsUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    switch (fault.kind) {
      case 'status':
        response.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
        response.end(fault.body ?? JSON.stringify({ error: { message: `injected ${fault.status}`, type: 'server_error', param: null, code: null } }));
        return;
      case 'echo-auth':
        response.writeHead(fault.status, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ error: { message: `Incorrect API key provided: ${String(response.req.headers.authorization)}`, type: 'invalid_request_error' } }),
        );
        return;
      case 'stall':
        return;
      case 'stall-after-headers':
        response.writeHead(200, sse);
        response.flushHeaders();
        return;
      case 'drop-after':
      case 'stall-after': {
        response.writeHead(200, sse);
        for (const event of streamEvents(model, false, fault.events)) response.write(event);
        // Let the events reach the client before the connection breaks.
        await new Promise((resolve) => setTimeout(resolve, 30));
        if (fault.kind === 'drop-after') response.socket?.destroy();
        return;
      }
      case 'ok':
        break;
    }
    const withUsage = fault.usage !== false;
    if (path.endsWith('/embeddings')) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(embeddingsAnswer(model, body));
      return;
    }
    if (!stream) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(wholeAnswer(model, withUsage));
      return;
    }
    response.writeHead(200, sse);
    const filler = Array.from({ length: fault.filler ?? 0 }, () => `data: ${JSON.stringify(chunk(model, { content: ' x' }, null))}\n\n`).join('');
    const [opening, ...rest] = streamEvents(model, withUsage && wantsUsage);
    const text = opening + filler + rest.join('');
    if (fault.split !== 'byte') {
      response.end(text);
      return;
    }
    // One byte per write, each in its own turn of the event loop, so they arrive as separate TCP chunks.
    response.socket?.setNoDelay(true);
    const bytes = Buffer.from(text);
    for (let index = 0; index < bytes.length; index += 1) {
      response.write(bytes.subarray(index, index + 1));
      await new Promise((resolve) => setImmediate(resolve));
    }
    response.end();
  }
}
