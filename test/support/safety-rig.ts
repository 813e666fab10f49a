/**
 * The rig of the device-safety tests (issue 17): `nimbus serve` from dist/ as a child process with
 * its embedded MQTT broker (or a shared PostgreSQL for two control planes), keys made over HTTP,
 * virtual devices in this process speaking MQTT to that broker, and a scripted OpenAI-compatible
 * upstream as the chat model, so a conversation's tool calls are exact. Run `npm run build` first.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simCatalog, type SimKind } from '../../src/devices/sim/sim-catalog.js';
import { VirtualDevice, type AnswerMode } from '../../src/devices/sim/virtual-device.js';
import { startNimbusProcess, type NimbusProcess } from './nimbus-process.js';

/** One scripted model turn: tool calls, or text (streamed word by word with `words`, else in one delta). */
export type UpstreamTurn = { calls: Array<{ name: string; arguments: unknown }> } | { text: string; words?: boolean } | { status: number };

/** An OpenAI-compatible upstream that answers each chat completion with the next scripted turn. */
export interface ScriptedUpstream {
  url: string;
  /** Chat requests received since the last `play`, as sent. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- request bodies of many shapes; the assertions check them
  requests: any[];
  play(turns: UpstreamTurn[]): void;
  close(): Promise<void>;
}

export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  let script: UpstreamTurn[] = [];
  const requests: unknown[] = [];
  const server: Server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      if (request.url?.endsWith('/models')) {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'scripted', object: 'model' }] }));
        return;
      }
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      requests.push(body);
      const turn = script.shift() ?? { text: 'done' };
      if ('status' in turn) {
        response
          .writeHead(turn.status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message: 'scripted failure', type: 'server_error' } }));
        return;
      }
      const message: { role: string; content: string | null; tool_calls?: Array<Record<string, unknown>> } =
        'text' in turn
          ? { role: 'assistant', content: turn.text }
          : {
              role: 'assistant',
              content: null,
              tool_calls: turn.calls.map((call, index) => ({
                id: `call_${requests.length}_${index}`,
                type: 'function',
                function: { name: call.name, arguments: JSON.stringify(call.arguments) },
              })),
            };
      if (body.stream === true) {
        // The same turn as an event stream: the message as one delta, then the finish with usage.
        const delta =
          'text' in turn
            ? { role: 'assistant', content: turn.text }
            : { role: 'assistant', tool_calls: message.tool_calls!.map((toolCall, index) => ({ index, ...toolCall })) };
        const chunk = (choices: unknown[], usage?: unknown) =>
          `data: ${JSON.stringify({ id: `chatcmpl-${requests.length}`, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: 'scripted', choices, ...(usage ? { usage } : {}) })}\n\n`;
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        const finish = () => {
          response.write(
            chunk([{ index: 0, delta: {}, finish_reason: 'text' in turn ? 'stop' : 'tool_calls' }], {
              prompt_tokens: 10,
              completion_tokens: 5,
              total_tokens: 15,
            }),
          );
          response.end('data: [DONE]\n\n');
        };
        if (!('text' in turn && turn.words)) {
          response.write(chunk([{ index: 0, delta, finish_reason: null }]));
          finish();
          return;
        }
        // Word by word, 5 ms apart, so each word is a read of its own at the other end.
        const words = turn.text.split(/(?<= )/);
        const next = () => {
          const word = words.shift();
          if (word === undefined) return finish();
          response.write(chunk([{ index: 0, delta: { role: 'assistant', content: word }, finish_reason: null }]));
          setTimeout(next, 5);
        };
        next();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: 'scripted',
          choices: [{ index: 0, message, finish_reason: 'text' in turn ? 'stop' : 'tool_calls' }],
          usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    play(turns) {
      script = [...turns];
      requests.length = 0;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A JSON answer. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of many shapes; the assertions check them
export type Answer = { status: number; body: any; headers: Headers };

/** One JSON call with a key (or none, in local mode), and extra headers. */
export async function call(
  url: string,
  key: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

export interface SafetyServer {
  process: NimbusProcess;
  url: string;
  broker: { url: string; topic_root: string };
  sims: Map<string, VirtualDevice>;
  /** Calls the API as a key (undefined: no key, local mode). */
  api(key: string | undefined, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  /** Makes a key through `admin` (or in local mode without one); returns the secret. */
  key(admin: string | undefined, name: string, scopes: Record<string, unknown>): Promise<string>;
  /** Registers a device (as `admin`, with a thing model of its own or the sim's) and connects a virtual device for it. */
  addSim(admin: string | undefined, kind: SimKind, id: string, options?: { model?: Record<string, unknown>; answers?: AnswerMode }): Promise<VirtualDevice>;
  stop(): Promise<void>;
}

/**
 * `nimbus serve` with the embedded broker on a free port, `devices` settings and the scripted
 * upstream as model `scripted`; `environment` adds to its environment (a database URL), `config`
 * to its config file (`mcp` settings).
 */
export async function startSafetyServer(
  options: {
    devices?: Record<string, unknown>;
    upstream?: ScriptedUpstream;
    environment?: Record<string, string>;
    config?: Record<string, unknown>;
  } = {},
): Promise<SafetyServer> {
  const configFile = join(mkdtempSync(join(tmpdir(), 'nimbus-safety-')), 'nimbus.json');
  const config = {
    ...options.config,
    devices: options.devices ?? {},
    ...(options.upstream
      ? { providers: [{ id: 'script', baseUrl: `${options.upstream.url}/v1` }], upstreamModels: [{ id: 'scripted', provider: 'script' }] }
      : {}),
  };
  writeFileSync(configFile, JSON.stringify(config));
  const child = await startNimbusProcess(['--mqtt-port', '0'], {
    NIMBUS_CONFIG: configFile,
    // The embedded broker on its free port, not the default 'off' of nimbus-process.
    NIMBUS_MQTT_URL: undefined as unknown as string,
    ...(options.environment ?? {}),
  });
  const api: SafetyServer['api'] = (key, method, path, body, headers) => call(child.url, key, method, path, body, headers);
  const broker = (await api(undefined, 'GET', '/v1/mqtt')).body as { url: string; topic_root: string };
  const sims = new Map<string, VirtualDevice>();
  return {
    process: child,
    url: child.url,
    broker,
    sims,
    api,
    async key(admin, name, scopes) {
      const created = await api(admin, 'POST', '/v1/keys', { name, scopes });
      if (created.status !== 201) throw new Error(`could not create key ${name}: ${JSON.stringify(created.body)}`);
      return created.body.key as string;
    },
    async addSim(admin, kind, id, simOptions = {}) {
      const registered = await api(admin, 'PUT', `/v1/devices/${id}`, { model: simOptions.model ?? simCatalog[kind].model });
      if (registered.status >= 300) throw new Error(JSON.stringify(registered.body));
      const tenantId = registered.body.mqtt_username.split('/')[0] as string;
      const sim = await VirtualDevice.start({
        url: broker.url,
        topicRoot: broker.topic_root,
        tenantId,
        deviceId: id,
        secret: registered.body.secret,
        kind,
        ...(simOptions.answers ? { answers: simOptions.answers } : {}),
      });
      sims.set(id, sim);
      return sim;
    },
    async stop() {
      for (const sim of sims.values()) await sim.stop().catch(() => undefined);
      await child.stop();
    },
  };
}

/** A new MCP session (raw JSON-RPC over the streamable HTTP transport) of a key; `rpc` sends one request in it. */
export async function mcpSession(
  server: SafetyServer,
  key: string,
): Promise<{ rpc(method: string, params?: unknown): Promise<Answer>; send(body: unknown): Promise<Answer> }> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = await server.api(
    key,
    'POST',
    '/mcp',
    { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } },
    headers,
  );
  const session = init.headers.get('mcp-session-id')!;
  let id = 1;
  return {
    rpc: (method, params) => server.api(key, 'POST', '/mcp', { jsonrpc: '2.0', id: (id += 1), method, params }, { ...headers, 'mcp-session-id': session }),
    send: (body) => server.api(key, 'POST', '/mcp', body, { ...headers, 'mcp-session-id': session }),
  };
}
