/**
 * Function tools the client runs itself (`tools: [{type: "function", ...}]`): the model's calls
 * to them end the loop and go back to the client, which answers with their outputs in its next
 * request. Nothing runs on the server.
 */
import type { ToolDefinition } from '../core/openai/request-schemas.js';
import type { ToolExecutor } from './tool-loop.js';

/** A function as the Responses API declares it. */
export interface FunctionTool {
  name: string;
  description?: string | null | undefined;
  parameters?: Record<string, unknown> | null | undefined;
  strict?: boolean | null | undefined;
}

export function functionExecutor(tools: readonly FunctionTool[]): ToolExecutor {
  const definitions: ToolDefinition[] = tools.map((tool) => ({
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description ? { description: tool.description } : {}),
      parameters: tool.parameters ?? { type: 'object', properties: {} },
      ...(tool.strict != null ? { strict: tool.strict } : {}),
    },
  }));
  return { kind: 'function', clientSide: true, definitions };
}
