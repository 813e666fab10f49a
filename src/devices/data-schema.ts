/**
 * Data schemas of thing models (JSON Schema, as W3C WoT uses it): structural checks that name
 * the offending field, validators for values (server-side range checks), and the grammar-safe
 * projection given to models, which drops bounds a grammar cannot enforce (the server checks them).
 */
import { Ajv, type ValidateFunction } from 'ajv';

/** A JSON Schema object. */
export type DataSchema = Record<string, unknown>;

const types = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);
/** WoT affordance terms that are not part of the data schema. */
const affordanceKeys = new Set(['forms', 'uriVariables', 'observable', '@type', 'titles', 'descriptions', 'tm:ref']);
const ajv = new Ajv({ strict: false, allErrors: false });

/** Checks a data schema; returns the first problem as `path: message`, or undefined. */
export function checkDataSchema(schema: unknown, path: string): string | undefined {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return `${path}: a data schema must be a JSON object`;
  const node = schema as DataSchema;
  const type = node.type;
  if (type !== undefined) {
    const list = Array.isArray(type) ? type : [type];
    if (list.length === 0 || list.some((name) => typeof name !== 'string' || !types.has(name))) {
      return `${path}.type: must be one of ${[...types].join(', ')} (got ${JSON.stringify(type)})`;
    }
  }
  for (const key of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']) {
    if (key in node && (typeof node[key] !== 'number' || !Number.isFinite(node[key]))) return `${path}.${key}: must be a number`;
  }
  for (const key of ['minLength', 'maxLength', 'minItems', 'maxItems']) {
    if (key in node && (!Number.isInteger(node[key]) || (node[key] as number) < 0)) return `${path}.${key}: must be a non-negative integer`;
  }
  const low = node.minimum ?? node.exclusiveMinimum;
  const high = node.maximum ?? node.exclusiveMaximum;
  if (typeof low === 'number' && typeof high === 'number' && low > high) return `${path}.minimum: ${low} is above the maximum ${high}`;
  if (typeof node.minLength === 'number' && typeof node.maxLength === 'number' && node.minLength > node.maxLength) {
    return `${path}.minLength: ${node.minLength} is above maxLength ${node.maxLength}`;
  }
  if ('enum' in node && (!Array.isArray(node.enum) || node.enum.length === 0)) return `${path}.enum: must be a non-empty array`;
  for (const key of ['readOnly', 'writeOnly']) if (key in node && typeof node[key] !== 'boolean') return `${path}.${key}: must be true or false`;
  return checkChildren(node, path) ?? compiles(node, path);
}

function checkChildren(node: DataSchema, path: string): string | undefined {
  if ('properties' in node) {
    const properties = node.properties;
    if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return `${path}.properties: must be an object of data schemas`;
    for (const [name, child] of Object.entries(properties)) {
      const problem = checkDataSchema(child, `${path}.properties.${name}`);
      if (problem) return problem;
    }
    const required = node.required;
    if (required !== undefined) {
      if (!Array.isArray(required) || required.some((name) => typeof name !== 'string')) return `${path}.required: must be a list of property names`;
      const missing = required.find((name) => !((name as string) in properties));
      if (missing !== undefined) return `${path}.required: '${missing}' is not among the properties`;
    }
  }
  if ('items' in node) {
    const items = node.items;
    const list = Array.isArray(items) ? items : [items];
    for (const [index, child] of list.entries()) {
      const problem = checkDataSchema(child, Array.isArray(items) ? `${path}.items.${index}` : `${path}.items`);
      if (problem) return problem;
    }
  }
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    if (!(key in node)) continue;
    const options = node[key];
    if (!Array.isArray(options) || options.length === 0) return `${path}.${key}: must be a non-empty array of data schemas`;
    for (const [index, child] of options.entries()) {
      const problem = checkDataSchema(child, `${path}.${key}.${index}`);
      if (problem) return problem;
    }
  }
  return undefined;
}

function compiles(node: DataSchema, path: string): string | undefined {
  try {
    ajv.compile(dataSchemaOf(node));
    return undefined;
  } catch (error) {
    return `${path}: not a valid JSON Schema (${(error as Error).message})`;
  }
}

/** The data schema of an affordance: the affordance with its WoT-only and Nimbus terms removed. */
export function dataSchemaOf(affordance: DataSchema): DataSchema {
  const schema: DataSchema = {};
  for (const [key, value] of Object.entries(affordance)) if (!affordanceKeys.has(key) && !key.startsWith('nimbus:')) schema[key] = value;
  return schema;
}

/**
 * The schema with `additionalProperties: false` on every object that does not say otherwise, at
 * any depth: a field the thing model does not declare is refused unless the model allows it.
 */
export function closeSchema(schema: DataSchema): DataSchema {
  const out: DataSchema = { ...schema };
  const isObject = schema.type === 'object' || (Array.isArray(schema.type) && schema.type.includes('object')) || 'properties' in schema;
  if (isObject && schema.additionalProperties === undefined) out.additionalProperties = false;
  if (schema.properties && typeof schema.properties === 'object') {
    out.properties = Object.fromEntries(Object.entries(schema.properties as Record<string, DataSchema>).map(([key, child]) => [key, closeSchema(child)]));
  }
  if (schema.items && typeof schema.items === 'object' && !Array.isArray(schema.items)) out.items = closeSchema(schema.items as DataSchema);
  for (const key of ['oneOf', 'anyOf', 'allOf']) if (Array.isArray(schema[key])) out[key] = (schema[key] as DataSchema[]).map(closeSchema);
  return out;
}

/** The dotted path of the first field of `value` its (closed) schema does not declare, or undefined. */
export function undeclaredField(value: unknown, schema: DataSchema | undefined, path: string): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    const items = schema?.items as DataSchema | undefined;
    for (const [index, item] of value.entries()) {
      const found = undeclaredField(item, items, `${path}.${index}`);
      if (found) return found;
    }
    return undefined;
  }
  const properties = (schema?.properties ?? {}) as Record<string, DataSchema>;
  const open = schema?.additionalProperties !== undefined && schema.additionalProperties !== false;
  for (const [key, item] of Object.entries(value)) {
    const where = path ? `${path}.${key}` : key;
    if (!(key in properties)) {
      if (!open) return where;
      continue;
    }
    const found = undeclaredField(item, properties[key], where);
    if (found) return found;
  }
  return undefined;
}

/** A validator for values of a schema, closed (see closeSchema); returns the first problem in words, naming `name`, or undefined. */
export function compileValidator(schema: DataSchema, name: string): (value: unknown) => string | undefined {
  const validate: ValidateFunction = ajv.compile(closeSchema(dataSchemaOf(schema)));
  return (value) => {
    if (validate(value)) return undefined;
    const error = validate.errors?.[0];
    if (!error) return `${name} is invalid`;
    const where = `${name}${error.instancePath.replace(/\//g, '.')}`;
    if (error.keyword === 'additionalProperties') {
      return `${where}.${String(error.params.additionalProperty)} is not declared by the thing model (undeclared fields are refused)`;
    }
    return `${where} ${error.message ?? 'is invalid'}${error.params && 'allowedValues' in error.params ? `: ${JSON.stringify(error.params.allowedValues)}` : ''}`;
  };
}

/**
 * The schema a model's grammar can enforce: number bounds, patterns and formats are dropped (and
 * stated in the description) because the server checks them; everything else is kept.
 */
export function grammarSafeSchema(schema: DataSchema): DataSchema {
  const out: DataSchema = {};
  const notes: string[] = [];
  for (const [key, value] of Object.entries(dataSchemaOf(schema))) {
    if (['title', 'readOnly', 'writeOnly', 'unit', 'default', 'examples'].includes(key)) continue;
    if (key === 'properties' && value && typeof value === 'object') {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, DataSchema>).map(([name, child]) => [name, grammarSafeSchema(child)]));
    } else if (key === 'items' && value && typeof value === 'object' && !Array.isArray(value)) {
      out.items = grammarSafeSchema(value as DataSchema);
    } else if ((key === 'oneOf' || key === 'anyOf') && Array.isArray(value)) {
      out.oneOf = value.map((child: DataSchema) => grammarSafeSchema(child));
    } else if (['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'].includes(key) && !isNarrowInteger(schema)) {
      notes.push(`${key} ${String(value)}`);
    } else if (['pattern', 'format', 'multipleOf', 'allOf', 'not', 'uniqueItems'].includes(key)) {
      notes.push(`${key} ${JSON.stringify(value)}`);
    } else out[key] = value;
  }
  if (typeof schema.unit === 'string') notes.push(`unit ${schema.unit}`);
  if (notes.length > 0) out.description = `${typeof out.description === 'string' ? `${out.description} ` : ''}(${notes.join(', ')}; checked by the server)`;
  if (out.type === 'object' && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

/** Integer ranges up to 1,000 values wide are enforced by grammar (by listing them). */
function isNarrowInteger(schema: DataSchema): boolean {
  if (schema.type !== 'integer') return false;
  const low = typeof schema.minimum === 'number' ? schema.minimum : undefined;
  const high = typeof schema.maximum === 'number' ? schema.maximum : undefined;
  return low !== undefined && high !== undefined && high - low <= 1000 && !('exclusiveMinimum' in schema) && !('exclusiveMaximum' in schema);
}
