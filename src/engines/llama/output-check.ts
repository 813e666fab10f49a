/**
 * Checks generated JSON against the schema the client sent, for what the grammar does not hold
 * exactly (float ranges; any range under tool_choice auto) and as a last guard: output that
 * breaks its schema is never returned. Draft 2020-12 (Ajv), after the same readings the grammar
 * makes: OpenAPI's `nullable`, draft 4's boolean `exclusiveMinimum`/`exclusiveMaximum`.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

/** undefined when the value satisfies the schema; otherwise what is wrong, in words. */
export type OutputCheck = (value: unknown) => string | undefined;

/** Made on first use: every CLI command loads this module, and few of them check output. */
let ajv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();

/** The schema as Ajv reads it (a copy; the client's is left alone). */
function normalize(schema: unknown, root: boolean): unknown {
  if (Array.isArray(schema)) return schema.map((item) => normalize(item, false));
  if (schema === null || typeof schema !== 'object') return schema;
  const node: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$schema' || key === '$id') continue;
    // Keywords whose values are data, not schemas, are copied as they are.
    node[key] = key === 'const' || key === 'enum' || key === 'default' || key === 'examples' ? value : normalize(value, false);
  }
  if (node.nullable === true && node.type !== undefined) {
    const types = Array.isArray(node.type) ? node.type : [node.type];
    if (!types.includes('null')) node.type = [...types, 'null'];
  }
  delete node.nullable;
  for (const [exclusive, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof node[exclusive] !== 'boolean') continue;
    if (node[exclusive] === true && typeof node[bound] === 'number') {
      node[exclusive] = node[bound];
      delete node[bound];
    } else delete node[exclusive];
  }
  if (root && node.definitions !== undefined && node.$defs === undefined) node.$defs = node.definitions;
  return node;
}

/** A check of values against `schema` (compiled once per distinct schema). */
export function compileOutputCheck(schema: unknown): OutputCheck {
  const key = JSON.stringify(schema ?? {});
  let validate = compiled.get(key);
  if (!validate) {
    ajv ??= new Ajv2020({ strict: false, allErrors: false, validateFormats: false, validateSchema: false });
    validate = ajv.compile(normalize(schema ?? {}, true) as object);
    if (compiled.size > 256) compiled.clear();
    compiled.set(key, validate);
  }
  const check = validate;
  return (value) => {
    if (check(value)) return undefined;
    const error = check.errors?.[0];
    return error ? `${error.instancePath || '/'} ${error.message ?? 'is invalid'}` : 'does not match the schema';
  };
}

/** Parses output text and checks it; what is wrong, or undefined with the parsed value. */
export function checkJsonText(text: string, check: OutputCheck): { value: unknown; problem?: undefined } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'the output is not JSON' };
  }
  const problem = check(value);
  return problem === undefined ? { value } : { problem };
}
