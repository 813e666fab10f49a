/**
 * The `mcp` tool kind of the one tool loop: a response's remote MCP servers, each listed once
 * before the first turn, their allowed tools offered to the model as `LABEL__TOOL` functions. A
 * call to a tool that needs approval is not sent: it halts the loop (the caller shows it as an
 * `mcp_approval_request`); a call the client approved in a later request runs then; one it denied
 * is reported to the model and never sent. What a server answers reaches the model as data, never as an approval.
 */
import type { ToolDefinition } from '../../core/openai/request-schemas.js';
import type { ToolCall } from '../../core/openai/response-types.js';
import type { ToolExecutor, ToolOutcome } from '../tool-loop.js';
import { describeFailure, type McpConnection, type McpTool } from './mcp-connection.js';

/** One server of the request, as the route resolved it. */
export interface McpServer {
  label: string;
  connection: McpConnection;
  /** Whether `allowed_tools` lets the model see this tool. */
  allowed(tool: McpTool): boolean;
  /** Whether `require_approval` makes a call to this tool wait for the client's approval. */
  needsApproval(tool: McpTool): boolean;
}

/** A server's listing: its allowed tools, or why it could not be listed. */
export type McpListing = { label: string; tools: McpTool[]; error?: undefined } | { label: string; tools?: undefined; error: string };

/** What one call came to, for the caller's `mcp_call` item. */
export interface McpCallRecord {
  serverLabel: string;
  name: string;
  arguments: string;
  output: string | null;
  error: string | null;
  /** The approval request this call ran under (a call approved in a later request). */
  approvalRequestId: string | null;
  /** The client denied it: nothing was sent to the server. */
  denied: boolean;
  /** It waits for the client's approval: nothing was sent, the loop halted on it. */
  awaitingApproval: boolean;
}

/** The client's answer to a call an earlier response halted on, and the tool it was for. */
export interface McpApproval {
  approve: boolean;
  serverLabel: string;
  name: string;
}

/** The function the model sees for a server's tool: `LABEL__TOOL`, in the characters every engine takes. */
export function mcpFunctionName(label: string, tool: string): string {
  return `${label}__${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
}

export class McpExecutor implements ToolExecutor {
  readonly kind = 'mcp';
  private offered: ToolDefinition[] = [];
  private readonly byFunction = new Map<string, { server: McpServer; tool: McpTool }>();
  private signal: AbortSignal = new AbortController().signal;

  constructor(
    private readonly servers: readonly McpServer[],
    private readonly limits: { maxTools: number; connectTimeoutMs: number; callTimeoutMs: number },
    /** Calls answered by the client, by the approval request's id (the call's id). */
    private readonly approvals: ReadonlyMap<string, McpApproval> = new Map(),
  ) {}

  get definitions(): readonly ToolDefinition[] {
    return this.offered;
  }

  /** Lists every server (in order), offering each one's allowed tools; a server that fails is reported and left out. */
  async list(signal: AbortSignal, report: (listing: McpListing) => void): Promise<void> {
    this.signal = signal;
    for (const server of this.servers) {
      let listing: McpListing;
      try {
        const tools = (await server.connection.listTools(signal)).filter((tool) => server.allowed(tool));
        if (tools.length > this.limits.maxTools)
          throw new Error(`the server offers ${tools.length} tools, more than this server's limit of ${this.limits.maxTools}: narrow allowed_tools`);
        listing = { label: server.label, tools };
      } catch (error) {
        listing = { label: server.label, error: `Could not list the tools of MCP server '${server.label}': ${describeFailure(error, this.limits)}` };
      }
      for (const tool of listing.tools ?? []) {
        const name = mcpFunctionName(server.label, tool.name);
        if (this.byFunction.has(name)) continue;
        this.byFunction.set(name, { server, tool });
        this.offered.push({
          type: 'function',
          function: { name, ...(tool.description ? { description: tool.description } : {}), parameters: tool.inputSchema },
        });
      }
      report(listing);
    }
  }

  async run(call: ToolCall): Promise<ToolOutcome> {
    const entry = this.byFunction.get(call.function.name);
    const answer = this.approvals.get(call.id);
    const approval = answer?.approve;
    const record: McpCallRecord = {
      serverLabel: entry?.server.label ?? answer?.serverLabel ?? '',
      name: entry?.tool.name ?? answer?.name ?? call.function.name,
      arguments: call.function.arguments,
      output: null,
      error: null,
      approvalRequestId: answer === undefined ? null : call.id,
      denied: approval === false,
      awaitingApproval: answer === undefined && entry !== undefined && entry.server.needsApproval(entry.tool),
    };
    if (record.awaitingApproval) return { output: JSON.stringify({ status: 'This call waits for the user’s approval; it has not run.' }), record, halt: true };
    if (approval === false) return { output: JSON.stringify({ error: 'The user did not approve this call; it was not run.' }), record };
    if (!entry) record.error = `The MCP server no longer offers a tool for '${call.function.name}'.`;
    else {
      const args = parseArguments(call.function.arguments);
      if (typeof args === 'string') record.error = args;
      else {
        const result = await entry.server.connection.callTool(entry.tool.name, args, this.signal);
        record.output = result.output ?? null;
        record.error = result.error ?? null;
      }
    }
    return { output: record.error !== null ? JSON.stringify({ error: record.error }) : (record.output ?? ''), record };
  }

  /** Ends every server's session. */
  async close(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.connection.close()));
  }
}

/** The call's arguments as an object, or why they are not one. */
function parseArguments(text: string): Record<string, unknown> | string {
  try {
    const value: unknown = JSON.parse(text || '{}');
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Falls through to the message.
  }
  return 'The arguments are not a JSON object.';
}
