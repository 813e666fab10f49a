/**
 * `tools: [{type: "mcp", server_label, server_url, allowed_tools, require_approval, headers}]` of a
 * response (decision 0018): the URL checked against the operator's policy (a 400 naming
 * `tools[i].server_url` when refused), the servers listed before the first turn (an
 * `mcp_list_tools` item each, with `error` when one cannot be listed), calls as `mcp_call` items,
 * held calls as `mcp_approval_request` items, and the `mcp_approval_response` input items that
 * answer them. Headers go to the server only: the response echoes and stores the tools without them.
 */
import { z } from 'zod';
import type { McpConfig } from '../../core/mcp-config.js';
import { NimbusError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { formatParamPath } from '../../core/openai/parse-request.js';
import type { ToolCall } from '../../core/openai/response-types.js';
import type { ResponseRequest } from '../../core/openai/response-request-schema.js';
import type { Item } from '../../responses/response-items.js';
import { checkServerUrl, McpRefusal, type GuardedFetch } from '../../tools/mcp/guarded-fetch.js';
import { McpConnection, type McpTool } from '../../tools/mcp/mcp-connection.js';
import { mcpFunctionName, McpExecutor, type McpApproval, type McpCallRecord, type McpServer } from '../../tools/mcp/mcp-executor.js';
import type { ServerToolKind } from '../routes/responses.js';
import { chatForm } from './server-tool-items.js';

const toolFilter = z.strictObject({ tool_names: z.array(z.string().min(1)).max(1000).optional(), read_only: z.boolean().optional() });

const toolSchema = z.object({
  type: z.literal('mcp'),
  server_label: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,39}$/, 'must start with a letter and hold at most 40 letters, digits, underscores or dashes'),
  server_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048),
  server_description: z.string().max(1024).optional(),
  headers: z.record(z.string().min(1).max(256), z.string().max(8192)).nullish(),
  authorization: z.string().max(8192).optional(),
  allowed_tools: z.union([z.array(z.string().min(1)).max(1000), toolFilter]).nullish(),
  require_approval: z.union([z.enum(['always', 'never']), z.strictObject({ always: toolFilter.optional(), never: toolFilter.optional() })]).nullish(),
});

type McpToolSpec = z.infer<typeof toolSchema>;

/** Whether a filter (`tool_names`, `read_only`) picks a tool; an empty filter picks none. */
function matches(filter: z.infer<typeof toolFilter> | undefined, tool: McpTool): boolean {
  if (!filter) return false;
  if (filter.tool_names?.includes(tool.name)) return true;
  return filter.read_only !== undefined && filter.read_only === (tool.annotations?.readOnlyHint === true);
}

/** `allowed_tools`: every tool when unset, else the names listed or the filter's picks. */
function allowedBy(spec: McpToolSpec): (tool: McpTool) => boolean {
  const allowed = spec.allowed_tools;
  if (allowed == null) return () => true;
  if (Array.isArray(allowed)) return (tool) => allowed.includes(tool.name);
  return (tool) => matches(allowed, tool);
}

/** `require_approval`: `always` by default, as OpenAI; a filter object holds what `always` picks and what `never` does not. */
function approvalBy(spec: McpToolSpec): (tool: McpTool) => boolean {
  const rule = spec.require_approval ?? 'always';
  if (rule === 'always') return () => true;
  if (rule === 'never') return () => false;
  return (tool) => matches(rule.always, tool) || !matches(rule.never, tool);
}

/** The tools of a response as it echoes and stores them: MCP tools without their headers or token. */
export function redactTools(tools: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> {
  return tools.map((tool) => {
    if (tool.type !== 'mcp') return tool;
    const kept = { ...tool };
    delete kept.headers;
    delete kept.authorization;
    return kept;
  });
}

/** The conversation split into the chain's items and this request's input (the last items, one per input entry). */
function splitConversation(conversation: readonly Item[], body: ResponseRequest): { history: readonly Item[]; input: readonly Item[] } {
  const count = typeof body.input === 'string' ? 1 : body.input.length;
  return { history: conversation.slice(0, conversation.length - count), input: conversation.slice(conversation.length - count) };
}

/** Refuses an `mcp_approval_response` when the request has no MCP tool to answer (it never approves anything else). */
export function checkApprovalsHaveServers(conversation: readonly Item[], body: ResponseRequest, hasMcpTools: boolean): void {
  const index = splitConversation(conversation, body).input.findIndex((item) => item.type === 'mcp_approval_response');
  if (index >= 0 && !hasMcpTools)
    throw new NimbusError(
      'invalid_value',
      "An mcp_approval_response answers an MCP server's call: send the same mcp tool in 'tools' with it. It never approves a Nimbus device action (a person approves those through the approval API).",
      { param: `input[${index}]` },
    );
}

/** What the kind needs from main.ts. */
export interface McpKindOptions {
  settings: McpConfig;
  fetch: GuardedFetch;
  version: string;
}

export function mcpKind(options: McpKindOptions): ServerToolKind {
  const { settings } = options;
  return {
    async prepare(tools, request, body, conversation) {
      const positions = (body.tools ?? []).flatMap((tool, index) => (tool.type === 'mcp' ? [index] : []));
      if (tools.length > settings.maxServers)
        throw new NimbusError('invalid_value', `Send at most ${settings.maxServers} mcp tools (mcp.maxServers).`, { param: 'tools' });
      const specs = tools.map((tool, at) => {
        const parsed = toolSchema.safeParse(tool);
        if (parsed.success) return parsed.data;
        const issue = parsed.error.issues[0]!;
        const param = formatParamPath(['tools', positions[at]!, ...issue.path]);
        throw new NimbusError('invalid_value', `Invalid value for '${param}': ${issue.message}.`, { param });
      });
      const labels = new Set<string>();
      const servers: McpServer[] = [];
      for (const [at, spec] of specs.entries()) {
        const param = `tools[${positions[at]!}]`;
        if (labels.has(spec.server_label))
          throw new NimbusError('invalid_value', `server_label '${spec.server_label}' is used twice: give each MCP server its own.`, {
            param: `${param}.server_label`,
          });
        labels.add(spec.server_label);
        const url = new URL(spec.server_url);
        try {
          await checkServerUrl(url, settings);
        } catch (error) {
          if (!(error instanceof McpRefusal)) throw error;
          throw new NimbusError('invalid_value', `Invalid value for '${param}.server_url': ${error.message}.`, { param: `${param}.server_url` });
        }
        const headers = { ...(spec.headers ?? {}), ...(spec.authorization ? { authorization: `Bearer ${spec.authorization}` } : {}) };
        servers.push({
          label: spec.server_label,
          connection: new McpConnection({ url, headers, fetch: options.fetch, ...settings, maxListed: settings.maxTools * 10, version: options.version }),
          allowed: allowedBy(spec),
          needsApproval: approvalBy(spec),
        });
      }
      const { approvals, answered } = approvalsOf(splitConversation(conversation, body), labels);
      const executor = new McpExecutor(servers, settings, approvals);
      return {
        executor,
        resume: answered.map((call) => ({ call, executor })),
        async setUp(builder, signal) {
          await executor.list(signal, (listing) => {
            const failed = listing.error !== undefined;
            builder.item(
              {
                id: newId('mcpl_'),
                type: 'mcp_list_tools',
                server_label: listing.label,
                tools: (listing.tools ?? []).map((tool) => ({
                  name: tool.name,
                  description: tool.description,
                  input_schema: tool.inputSchema,
                  annotations: tool.annotations,
                })),
                error: listing.error ?? null,
              },
              [
                ['response.mcp_list_tools.in_progress', {}],
                [failed ? 'response.mcp_list_tools.failed' : 'response.mcp_list_tools.completed', {}],
              ],
            );
          });
        },
        close: () => executor.close(),
        item(result) {
          const record = result.outcome.record as McpCallRecord;
          if (record.denied) return null;
          // Halted for the client's approval: its id is the call's id when the approval resumes it.
          if (record.awaitingApproval)
            return {
              item: { id: newId('mcpr_'), type: 'mcp_approval_request', server_label: record.serverLabel, name: record.name, arguments: record.arguments },
            };
          const failed = record.error !== null;
          return {
            item: {
              id: newId('mcp_'),
              type: 'mcp_call',
              status: failed ? 'failed' : 'completed',
              server_label: record.serverLabel,
              name: record.name,
              arguments: record.arguments,
              output: record.output,
              error: record.error,
              approval_request_id: record.approvalRequestId,
              nimbus_call: chatForm(result),
            },
            during: [
              ['response.mcp_call_arguments.delta', { delta: record.arguments }],
              ['response.mcp_call_arguments.done', { arguments: record.arguments }],
              ['response.mcp_call.in_progress', {}],
              [failed ? 'response.mcp_call.failed' : 'response.mcp_call.completed', {}],
            ],
          };
        },
      };
    },
  };
}

/** Items a client sends, not a response's output: what follows them in a conversation does not show they were acted on. */
const clientItems = new Set(['function_call_output', 'mcp_approval_response', 'item_reference']);

/** Whether an item is a response's output (an assistant message, a tool call or listing). */
function isOutput(item: Item): boolean {
  return item.type === 'message' ? item.role === 'assistant' : !clientItems.has(item.type);
}

/**
 * The calls the request's `mcp_approval_response` items answer: each must name an
 * `mcp_approval_request` of the conversation (from a server of this request) not answered before.
 * The held call runs under the request's id, which is also its id in the model's conversation.
 *
 * A client that keeps its own history sends the whole conversation back as input (no
 * `previous_response_id`): the requests are then in the input, and so are the answers of earlier
 * turns. An answer in the input that a response's output follows was acted on by that response
 * (its `mcp_call`, or nothing for a denied call): it is history, not run again. One that no output
 * follows is this request's, refused when an `mcp_call` already names its request.
 */
function approvalsOf(conversation: { history: readonly Item[]; input: readonly Item[] }, labels: ReadonlySet<string>) {
  const all = [...conversation.history, ...conversation.input];
  const requests = new Map(all.filter((item) => item.type === 'mcp_approval_request').map((item) => [item.id, item] as const));
  const ran = new Set(all.filter((item) => item.type === 'mcp_call' && item.approval_request_id != null).map((item) => String(item.approval_request_id)));
  const earlier = new Set(conversation.history.filter((item) => item.type === 'mcp_approval_response').map((item) => String(item.approval_request_id)));
  const lastOutput = conversation.input.findLastIndex(isOutput);
  const approvals = new Map<string, McpApproval>();
  const answered: ToolCall[] = [];
  conversation.input.forEach((item, index) => {
    if (item.type !== 'mcp_approval_response') return;
    const id = String(item.approval_request_id);
    if (index < lastOutput) return;
    const asked = requests.get(id);
    const param = `input[${index}].approval_request_id`;
    if (!asked)
      throw new NimbusError(
        'invalid_value',
        `No mcp_approval_request '${id}' in this conversation: send the mcp_approval_response with the previous_response_id of the response that asked, or after that mcp_approval_request item in the input. It answers only an MCP server's call, never a Nimbus device action (a person approves those through the approval API).`,
        { param },
      );
    if (earlier.has(id) || ran.has(id) || approvals.has(id))
      throw new NimbusError('invalid_value', `The mcp_approval_request '${id}' was already answered.`, { param });
    const label = String(asked.server_label);
    if (!labels.has(label))
      throw new NimbusError('invalid_value', `The approval request '${id}' is for MCP server '${label}': send that mcp tool in 'tools' again.`, {
        param: `input[${index}]`,
      });
    approvals.set(id, { approve: item.approve === true, serverLabel: label, name: String(asked.name) });
    answered.push({ id, type: 'function', function: { name: mcpFunctionName(label, String(asked.name)), arguments: String(asked.arguments) } });
  });
  return { approvals, answered };
}
