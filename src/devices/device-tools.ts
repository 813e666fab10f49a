/**
 * Tools for models, derived from thing models (Home Assistant's LLM API, done server-side):
 * per device one tool that reads its live state, one per writable property, one per action.
 * Names are `DEVICE__get`, `DEVICE__set_PROPERTY`, `DEVICE__do_ACTION`: device ids never
 * contain `__`, so a name always splits back into its target.
 */
import type { RiskTier } from '../core/device-store.js';
import { closeSchema, grammarSafeSchema, type DataSchema } from './data-schema.js';
import type { ThingModel } from './thing-model.js';

/** What a tool acts on. */
export type ToolTarget =
  { deviceId: string; kind: 'read' } | { deviceId: string; kind: 'set'; name: string } | { deviceId: string; kind: 'invoke'; name: string; wrapped: boolean };

/** One tool, as both the chat loop and the MCP endpoint expose it. */
export interface DeviceTool {
  name: string;
  description: string;
  /** JSON Schema of the arguments; the server validates against it (ranges included). */
  parameters: DataSchema;
  /** The same, minus what a grammar cannot enforce (given to llama.cpp; the server still checks). */
  grammarParameters: DataSchema;
  target: ToolTarget;
  risk: RiskTier;
  /** True for reads and `safe` actions: nothing in the world changes. */
  readOnly: boolean;
  idempotent: boolean;
}

const noArguments: DataSchema = { type: 'object', properties: {}, additionalProperties: false };

function riskNote(risk: RiskTier): string {
  return risk === 'low' ? '' : ` Risk ${risk}: waits for a human approval.`;
}

/** The tools of one device. */
export function deviceTools(deviceId: string, model: ThingModel): DeviceTool[] {
  const tools: DeviceTool[] = [
    {
      name: `${deviceId}__get`,
      description: `Live state of ${model.title} ${deviceId}.`,
      parameters: noArguments,
      grammarParameters: noArguments,
      target: { deviceId, kind: 'read' },
      risk: 'low',
      readOnly: true,
      idempotent: true,
    },
  ];
  for (const property of Object.values(model.properties)) {
    if (property.readOnly) continue;
    const parameters = { type: 'object', properties: { value: closeSchema(property.schema) }, required: ['value'], additionalProperties: false };
    tools.push({
      name: `${deviceId}__set_${property.name}`,
      description: `Set ${property.name} of ${model.title} ${deviceId}.${property.description ? ` ${property.description}` : ''}${riskNote(property.risk)}`,
      parameters,
      grammarParameters: grammarSafeSchema(parameters),
      target: { deviceId, kind: 'set', name: property.name },
      risk: property.risk,
      readOnly: false,
      idempotent: true,
    });
  }
  for (const action of Object.values(model.actions)) {
    const isObject = action.input?.type === 'object';
    // Closed at every depth: a field the thing model does not declare is refused unless it allows more.
    const parameters: DataSchema = !action.input
      ? noArguments
      : isObject
        ? closeSchema(action.input)
        : { type: 'object', properties: { value: closeSchema(action.input) }, required: ['value'], additionalProperties: false };
    tools.push({
      name: `${deviceId}__do_${action.name}`,
      description: `${action.description ?? `Invoke ${action.name}`} (${model.title} ${deviceId}).${riskNote(action.risk)}`,
      parameters,
      grammarParameters: grammarSafeSchema(parameters),
      target: { deviceId, kind: 'invoke', name: action.name, wrapped: Boolean(action.input) && !isObject },
      risk: action.risk,
      readOnly: action.safe,
      idempotent: action.idempotent,
    });
  }
  return tools;
}

/** The command input a tool call stands for: the property value, or the action's input. */
export function commandInput(target: ToolTarget, args: Record<string, unknown>): unknown {
  if (target.kind === 'set') return args.value;
  if (target.kind === 'invoke') return target.wrapped ? args.value : Object.keys(args).length === 0 ? undefined : args;
  return undefined;
}

/** Splits a tool name into device id and affordance; undefined when it is not a device tool. */
export function parseToolName(name: string): { deviceId: string; verb: string } | undefined {
  const index = name.indexOf('__');
  if (index <= 0) return undefined;
  return { deviceId: name.slice(0, index), verb: name.slice(index + 2) };
}
