/**
 * A `/v1/responses` body for an app: the request brings the input (and `user`, `metadata`,
 * `previous_response_id`, `store`, `stream`, `include`, `tool_choice`, `truncation`); the app
 * brings its instructions (with the end user's memory), tools (functions, its devices, its MCP
 * servers), knowledge, format and sampling. The approvals a client presents for the app's device
 * commands (`nimbus.approvals`) go into its device tool.
 * `max_output_tokens` may be lowered by the request, never raised past the app's.
 */
import { withMemory } from '../../apps/app-memory.js';
import type { ResponseRequest, ResponseTool } from '../../core/openai/response-request-schema.js';
import { refuseAppField, type AppCall } from './app-call.js';

export function appResponseRequest(body: ResponseRequest, call: AppCall, approvals: readonly string[] = []): ResponseRequest {
  refuseAppField(call, 'instructions', body.instructions);
  refuseAppField(call, 'tools', body.tools);
  refuseAppField(call, 'text', body.text?.format);
  refuseAppField(call, 'temperature', body.temperature);
  refuseAppField(call, 'top_p', body.top_p);
  const config = call.app.config;
  const tools: ResponseTool[] = [...(config.tools ?? [])];
  if (config.vector_store_ids && config.vector_store_ids.length > 0) tools.push({ type: 'file_search', vector_store_ids: config.vector_store_ids });
  // Devices through the device tool kind, within the call's principal (the app's scope met with the key's),
  // with the approvals the client presents (nimbus.approvals, app-extension.ts).
  if (config.devices !== undefined && config.devices.length > 0)
    tools.push({
      type: 'nimbus_devices',
      devices: config.devices === '*' ? true : config.devices,
      ...(approvals.length > 0 ? { approvals: [...approvals] } : {}),
    });
  // MCP servers through the mcp kind: its checks (the operator's allowed hosts, approvals by default) apply.
  for (const server of config.mcp_servers ?? []) tools.push({ type: 'mcp', server_label: server.server_label, server_url: server.server_url });
  const cap = [body.max_output_tokens, config.max_output_tokens].filter((value): value is number => typeof value === 'number');
  return {
    ...body,
    model: call.model,
    instructions: withMemory(config.instructions, call.memory) ?? null,
    tools: tools.length > 0 ? tools : null,
    text: config.text ? { format: config.text.format as NonNullable<ResponseRequest['text']>['format'] } : body.text,
    temperature: config.temperature ?? null,
    top_p: config.top_p ?? null,
    max_output_tokens: cap.length > 0 ? Math.min(...cap) : null,
  };
}

/** The end user a request names: `user`, else `metadata.user_id`. */
export function endUserOf(body: { user?: string | null | undefined; metadata?: Record<string, string> | null | undefined }): string | undefined {
  return body.user ?? body.metadata?.user_id ?? undefined;
}
