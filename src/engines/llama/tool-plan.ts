/**
 * How a chat request's tools and response format become generation constraints:
 * - tool_choice auto: the model's own function-call syntax (from its chat wrapper); once it starts
 *   a call, a grammar built from the function's schema generates the arguments.
 * - tool_choice required or a named function: the whole answer is grammar-constrained JSON
 *   `{"name": ..., "arguments": {...}}`, so a call always comes and always validates.
 * - response_format json_object / json_schema: the answer is grammar-constrained JSON.
 * Where the grammar holds less than a schema says (json-schema-grammar.ts), the plan carries a
 * check that the engine applies after generation, sampling again when it fails.
 */
import type { ChatModelFunctions, GbnfJsonSchema } from 'node-llama-cpp';
import { NimbusError } from '../../core/errors.js';
import type { ChatCompletionRequest, ToolDefinition } from '../../core/openai/request-schemas.js';
import { jsonSchemaToGrammar, type GrammarMode, type GrammarSchema } from './json-schema-grammar.js';
import { compileOutputCheck, type OutputCheck } from './output-check.js';

/** What constrains the output of one chat request. */
export type OutputPlan =
  | { kind: 'text' }
  /** `exact` false: some call's arguments must be checked after generation (`checks`, by tool name). */
  | { kind: 'functions'; functions: ChatModelFunctions; maxParallel: number; checks: ReadonlyMap<string, OutputCheck>; exact: boolean }
  | { kind: 'forced-call'; grammar: GrammarSchema; instructions: string; checks: ReadonlyMap<string, OutputCheck>; param: string }
  | { kind: 'json'; grammar: GrammarSchema | 'any'; check?: OutputCheck; param: string };

const emptyParameters = { type: 'object', properties: {} };

/** One tool's parameters: its grammar form and its check. */
interface ToolParameters {
  grammar: GrammarSchema;
  check: OutputCheck;
}

/** Grammar schemas of each tool's parameters, checked; an unusable schema is a 400 naming the tool. */
function toolParameters(tools: readonly ToolDefinition[], mode: GrammarMode): Map<string, ToolParameters> {
  const byName = new Map<string, ToolParameters>();
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
    const schema = { ...parameters, type: 'object' };
    byName.set(name, { grammar: jsonSchemaToGrammar(schema, `tools[${index}].function.parameters`, mode), check: compileOutputCheck(schema) });
  });
  return byName;
}

function callSchema(name: string, parameters: GbnfJsonSchema): GbnfJsonSchema {
  return { type: 'object', properties: { name: { const: name }, arguments: parameters }, required: ['name', 'arguments'] } as GbnfJsonSchema;
}

/** The forced-call grammar over the given tools: one call, of one of them. */
function forcedCall(parameters: ReadonlyMap<string, ToolParameters>, names: readonly string[]): GrammarSchema {
  const options = names.map((name) => callSchema(name, parameters.get(name)!.grammar.schema));
  const rules = Object.assign({}, ...names.map((name) => parameters.get(name)!.grammar.rules)) as Record<string, string>;
  const exact = names.every((name) => parameters.get(name)!.grammar.exact);
  return { schema: options.length === 1 ? options[0]! : ({ oneOf: options } as GbnfJsonSchema), rules, exact };
}

/** A schema as the model reads it: without `$schema` and without the safe-integer bounds that say nothing (zod's `.int()`). */
function forTheModel(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(forTheModel);
  if (schema === null || typeof schema !== 'object') return schema;
  const entries = Object.entries(schema).filter(
    ([key, value]) => key !== '$schema' && !((key === 'minimum' || key === 'maximum') && Math.abs(Number(value)) === Number.MAX_SAFE_INTEGER),
  );
  return Object.fromEntries(entries.map(([key, value]) => [key, key === 'const' || key === 'enum' ? value : forTheModel(value)]));
}

function describeTools(tools: readonly ToolDefinition[], only: string | undefined): string {
  const lines = tools
    .filter((tool) => !only || tool.function.name === only)
    .map(
      (tool) =>
        `- ${tool.function.name}: ${tool.function.description ?? ''} parameters: ${JSON.stringify(forTheModel(tool.function.parameters ?? emptyParameters))}`,
    );
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
  // Under auto node-llama-cpp builds the arguments' grammar from plain schemas; otherwise Nimbus does.
  const parameters = toolParameters(tools, choice === 'auto' ? 'functions' : 'grammar');
  const checks = new Map([...parameters].map(([name, tool]) => [name, tool.check]));
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
    const index = tools.findIndex((tool) => tool.function.name === name);
    if (index < 0) {
      throw new NimbusError('invalid_value', `Invalid value for 'tool_choice': no tool named '${name}' is in 'tools'.`, { param: 'tool_choice.function.name' });
    }
    return {
      kind: 'forced-call',
      grammar: forcedCall(parameters, [name]),
      instructions: describeTools(tools, name),
      checks,
      param: `tools[${index}].function.parameters`,
    };
  }
  if (choice === 'required') {
    return {
      kind: 'forced-call',
      grammar: forcedCall(parameters, [...parameters.keys()]),
      instructions: describeTools(tools, undefined),
      checks,
      param: 'tools',
    };
  }
  if (choice === 'auto') {
    const functions: Record<string, { description?: string; params: GbnfJsonSchema }> = {};
    for (const tool of tools) {
      functions[tool.function.name] = {
        params: parameters.get(tool.function.name)!.grammar.schema,
        ...(tool.function.description ? { description: tool.function.description } : {}),
      };
    }
    const exact = [...parameters.values()].every((tool) => tool.grammar.exact);
    return { kind: 'functions', functions, maxParallel: request.parallel_tool_calls === false ? 1 : 8, checks, exact };
  }
  const param = 'response_format.json_schema.schema';
  if (format?.type === 'json_object') return { kind: 'json', grammar: 'any', param: 'response_format' };
  if (format?.type === 'json_schema') {
    const schema = format.json_schema.schema;
    return { kind: 'json', grammar: jsonSchemaToGrammar(schema, param), check: compileOutputCheck(schema), param };
  }
  return { kind: 'text' };
}
