/**
 * How a chat request's tools and response format become generation constraints:
 * - tool_choice auto: the model's own function-call syntax (from its chat wrapper); once it starts
 *   a call, a grammar built from the function's schema generates the arguments.
 * - tool_choice required or a named function: the whole answer is grammar-constrained JSON
 *   `{"name": ..., "arguments": {...}}`, so a call always comes and always validates.
 * - response_format json_object / json_schema: the answer is grammar-constrained JSON.
 */
import type { ChatModelFunctions, GbnfJsonSchema } from 'node-llama-cpp';
import { NimbusError } from '../../core/errors.js';
import type { ChatCompletionRequest, ToolDefinition } from '../../core/openai/request-schemas.js';
import { jsonSchemaToGrammarSchema } from './json-schema-grammar.js';

/** What constrains the output of one chat request. */
export type OutputPlan =
  | { kind: 'text' }
  | { kind: 'functions'; functions: ChatModelFunctions; maxParallel: number }
  | { kind: 'forced-call'; grammar: GbnfJsonSchema; instructions: string }
  | { kind: 'json'; grammar: GbnfJsonSchema | 'any' };

const emptyParameters = { type: 'object', properties: {} };

/** Grammar schemas of each tool's parameters, checked; an unusable schema is a 400 naming the tool. */
function toolParameters(tools: readonly ToolDefinition[]): Map<string, GbnfJsonSchema> {
  const byName = new Map<string, GbnfJsonSchema>();
  tools.forEach((tool, index) => {
    const name = tool.function.name;
    if (byName.has(name)) {
      throw new NimbusError('invalid_value', `Invalid value for 'tools[${index}].function.name': the name '${name}' is used by more than one tool.`, {
        param: `tools[${index}].function.name`,
      });
    }
    const parameters = tool.function.parameters ?? emptyParameters;
    if (parameters.type !== undefined && parameters.type !== 'object') {
      throw new NimbusError(
        'invalid_schema',
        `Invalid schema for 'tools[${index}].function.parameters': the parameters schema must describe an object (type "object").`,
        {
          param: `tools[${index}].function.parameters`,
        },
      );
    }
    byName.set(name, jsonSchemaToGrammarSchema({ ...parameters, type: 'object' }, `tools[${index}].function.parameters`));
  });
  return byName;
}

function callSchema(name: string, parameters: GbnfJsonSchema): GbnfJsonSchema {
  return { type: 'object', properties: { name: { const: name }, arguments: parameters }, required: ['name', 'arguments'] } as GbnfJsonSchema;
}

function describeTools(tools: readonly ToolDefinition[], only: string | undefined): string {
  const lines = tools
    .filter((tool) => !only || tool.function.name === only)
    .map((tool) => `- ${tool.function.name}: ${tool.function.description ?? ''} parameters: ${JSON.stringify(tool.function.parameters ?? emptyParameters)}`);
  return `You must call ${only ? 'the tool below' : 'one of the tools below'}. Answer with only a JSON object {"name": TOOL_NAME, "arguments": {...}}.\nTools:\n${lines.join('\n')}`;
}

/** Decides how the output of a chat request is constrained; throws 400s for bad combinations. */
export function planOutput(request: ChatCompletionRequest): OutputPlan {
  const tools = request.tools ?? [];
  const choice = request.tool_choice ?? (tools.length > 0 ? 'auto' : 'none');
  const format = request.response_format;
  if (choice !== 'none' && tools.length === 0) {
    throw new NimbusError('invalid_value', "Invalid value for 'tool_choice': tools must be given when tool_choice is not 'none'.", { param: 'tool_choice' });
  }
  const parameters = toolParameters(tools);
  if (choice !== 'none' && format && format.type !== 'text') {
    throw new NimbusError(
      'unsupported_value',
      "Unsupported combination: 'response_format' json output cannot be combined with tools unless tool_choice is 'none'.",
      {
        param: 'response_format',
      },
    );
  }
  if (typeof choice === 'object') {
    const name = choice.function.name;
    const schema = parameters.get(name);
    if (!schema) {
      throw new NimbusError('invalid_value', `Invalid value for 'tool_choice': no tool named '${name}' is in 'tools'.`, { param: 'tool_choice.function.name' });
    }
    return { kind: 'forced-call', grammar: callSchema(name, schema), instructions: describeTools(tools, name) };
  }
  if (choice === 'required') {
    const options = [...parameters].map(([name, schema]) => callSchema(name, schema));
    const grammar = options.length === 1 ? options[0]! : ({ oneOf: options } as GbnfJsonSchema);
    return { kind: 'forced-call', grammar, instructions: describeTools(tools, undefined) };
  }
  if (choice === 'auto') {
    const functions: Record<string, { description?: string; params: GbnfJsonSchema }> = {};
    for (const tool of tools) {
      functions[tool.function.name] = {
        params: parameters.get(tool.function.name)!,
        ...(tool.function.description ? { description: tool.function.description } : {}),
      };
    }
    return { kind: 'functions', functions, maxParallel: request.parallel_tool_calls === false ? 1 : 8 };
  }
  if (format?.type === 'json_object') return { kind: 'json', grammar: 'any' };
  if (format?.type === 'json_schema') {
    const schema = format.json_schema.schema;
    return { kind: 'json', grammar: schema ? jsonSchemaToGrammarSchema(schema, 'response_format.json_schema.schema') : 'any' };
  }
  return { kind: 'text' };
}
