/**
 * One response's session with one remote MCP server, through the official SDK's client and its
 * Streamable HTTP transport over the guarded fetch: connect (initialize) on first use, list the
 * tools (following pages up to a cap), call them, close. Failures come back as short messages
 * safe to show the tenant (no stack, never the request's headers).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpRefusal, type GuardedFetch } from './guarded-fetch.js';

/** A tool as the server lists it. */
export interface McpTool {
  name: string;
  description: string | null;
  inputSchema: Record<string, unknown>;
  annotations: Record<string, unknown> | null;
}

/** What a call gave: the output text, or the error the server or the connection reported. */
export type McpCallResult = { output: string; error?: undefined } | { output?: undefined; error: string };

export interface ConnectionOptions {
  url: URL;
  /** Sent with every request (a tenant's Authorization); never logged, never stored. */
  headers: Record<string, string>;
  fetch: GuardedFetch;
  connectTimeoutMs: number;
  callTimeoutMs: number;
  /** Tools listed past this many fail the listing (pages stop being read there). */
  maxListed: number;
  /** Nimbus's version, for the client's `initialize`. */
  version: string;
}

export class McpConnection {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;

  constructor(private readonly options: ConnectionOptions) {}

  /** The server's tools; throws an Error whose message is safe to show. */
  async listTools(signal: AbortSignal): Promise<McpTool[]> {
    const client = await this.connect(signal);
    const tools: McpTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, { signal, timeout: this.options.callTimeoutMs });
      for (const tool of page.tools) {
        tools.push({
          name: tool.name,
          description: tool.description ?? null,
          inputSchema: tool.inputSchema,
          annotations: (tool.annotations as Record<string, unknown> | undefined) ?? null,
        });
      }
      if (tools.length > this.options.maxListed) throw new McpRefusal(`the server lists more than ${this.options.maxListed} tools`);
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  }

  /** Calls one tool; a failure (the tool's own, or the connection's) comes back as `error`. */
  async callTool(name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<McpCallResult> {
    try {
      const client = await this.connect(signal);
      const result = await client.callTool({ name, arguments: args }, undefined, { signal, timeout: this.options.callTimeoutMs });
      const text = outputText(result as { content?: unknown; structuredContent?: unknown });
      return result.isError ? { error: text || 'the tool reported an error' } : { output: text };
    } catch (error) {
      return { error: describeFailure(error, this.options) };
    }
  }

  /** Ends the session (the server is told, best effort). */
  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    try {
      await (client.transport as StreamableHTTPClientTransport | undefined)?.terminateSession();
    } catch {
      // A server that does not end sessions, or is gone: nothing to do.
    }
    await client.close().catch(() => undefined);
  }

  private connect(signal: AbortSignal): Promise<Client> {
    this.connecting ??= (async () => {
      const transport = new StreamableHTTPClientTransport(this.options.url, {
        fetch: this.options.fetch,
        requestInit: { headers: this.options.headers },
        reconnectionOptions: { maxReconnectionDelay: 1000, initialReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1, maxRetries: 0 },
      });
      const client = new Client({ name: 'nimbus', version: this.options.version });
      await client.connect(transport, { signal, timeout: this.options.connectTimeoutMs });
      this.client = client;
      return client;
    })();
    return this.connecting;
  }
}

/** A tool result's content as the text the model reads: text parts joined, anything else as JSON. */
function outputText(result: { content?: unknown; structuredContent?: unknown }): string {
  const parts = Array.isArray(result.content) ? (result.content as Array<{ type?: string; text?: unknown }>) : [];
  if (parts.length === 0 && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return parts.map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : JSON.stringify(part))).join('\n');
}

/** A failure as a short message for the tenant: what happened, never a stack or the headers sent. */
export function describeFailure(error: unknown, limits: { connectTimeoutMs: number; callTimeoutMs: number }): string {
  if (error instanceof McpRefusal) return error.message;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const code = String(cause?.code ?? (error as { code?: unknown } | undefined)?.code ?? '');
  if (cause instanceof McpRefusal) return cause.message;
  if (code === 'ECONNREFUSED') return 'the server refused the connection';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the server name does not resolve';
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return `the connection was not open within ${limits.connectTimeoutMs} ms (mcp.connectTimeoutMs)`;
  if (code === '-32001') return `the server did not answer within ${limits.callTimeoutMs} ms (mcp.callTimeoutMs)`;
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 300 ? `${message.slice(0, 300)}...` : message;
}
