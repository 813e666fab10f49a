/**
 * JSON Schema -> the schema form node-llama-cpp turns into a GBNF grammar. Output generated
 * under the grammar always parses; it always validates too, because a keyword the grammar
 * cannot enforce (pattern, a wide number range, ...) is refused here with a 400 that names it,
 * rather than accepted and silently broken.
 */
import type { GbnfJsonSchema } from 'node-llama-cpp';
import { NimbusError } from '../../core/errors.js';

type Schema = Record<string, unknown>;
type Primitive = string | number | boolean | null;

const metadataKeys = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'deprecated', 'readOnly', 'writeOnly']);
const basicTypes = new Set(['string', 'number', 'integer', 'boolean', 'null']);
/** Integer ranges up to this span become an enum, which the grammar can enforce exactly. */
const maxEnumeratedRange = 1000;

const anyValue: GbnfJsonSchema = {
  oneOf: [{ type: ['string', 'number', 'boolean', 'null'] }, { type: 'object', additionalProperties: true }, { type: 'array' }],
};

class Converter {
  constructor(private readonly param: string) {}

  fail(path: string, message: string): never {
    throw new NimbusError('invalid_schema', `Invalid schema for '${this.param}' at '${path || '/'}': ${message}`, { param: this.param });
  }

  convert(schema: unknown, path: string): GbnfJsonSchema {
    if (schema === true) return anyValue;
    if (schema === false) this.fail(path, 'a false schema matches nothing, so no output could satisfy it.');
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) this.fail(path, 'a schema must be an object.');
    const node = schema as Schema;
    const description = typeof node.description === 'string' ? node.description : undefined;
    const withDescription = <T extends object>(value: T): T => (description ? { ...value, description } : value);

    if ('$ref' in node) {
      const ref = String(node.$ref);
      const match = /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(ref);
      if (!match) this.fail(path, `only local references of the form '#/$defs/NAME' are supported, got '${ref}'.`);
      return withDescription({ $ref: `#/$defs/${match[1]}` }) as GbnfJsonSchema;
    }
    if ('const' in node) return withDescription({ const: this.primitive(node.const, `${path}/const`) });
    if ('enum' in node) {
      if (!Array.isArray(node.enum) || node.enum.length === 0) this.fail(`${path}/enum`, 'enum must be a non-empty array.');
      return withDescription({ enum: node.enum.map((value, index) => this.primitive(value, `${path}/enum/${index}`)) });
    }
    for (const keyword of ['oneOf', 'anyOf'] as const) {
      if (keyword in node) {
        const options = node[keyword];
        if (!Array.isArray(options) || options.length === 0) this.fail(`${path}/${keyword}`, `${keyword} must be a non-empty array.`);
        const base = { ...node };
        delete base[keyword];
        const hasSiblings = Object.keys(base).some((key) => !metadataKeys.has(key) && key !== '$defs' && key !== 'definitions');
        if (hasSiblings) this.fail(path, `${keyword} beside other keywords is not supported; move the shared keywords into each option.`);
        return withDescription({ oneOf: options.map((option, index) => this.convert(option, `${path}/${keyword}/${index}`)) });
      }
    }
    if ('allOf' in node) {
      const parts = node.allOf;
      if (Array.isArray(parts) && parts.length === 1) return this.convert(parts[0], `${path}/allOf/0`);
      this.fail(`${path}/allOf`, 'allOf with more than one schema cannot be enforced by a grammar; merge them into one schema.');
    }
    for (const keyword of [
      'not',
      'if',
      'then',
      'else',
      'patternProperties',
      'dependentRequired',
      'dependentSchemas',
      'uniqueItems',
      'contains',
      'multipleOf',
      'propertyNames',
      'unevaluatedProperties',
    ]) {
      if (keyword in node) this.fail(`${path}/${keyword}`, `the keyword '${keyword}' cannot be enforced by a grammar; remove it.`);
    }

    let type = node.type;
    if (type === undefined) {
      if ('properties' in node) type = 'object';
      else if ('items' in node || 'prefixItems' in node) type = 'array';
      else return description ? { ...anyValue, description } : anyValue;
    }
    if (node.nullable === true) type = [...(Array.isArray(type) ? type : [type]), 'null'];
    if (Array.isArray(type)) {
      if (type.length === 0) this.fail(`${path}/type`, 'type must not be an empty list.');
      if (type.every((name) => basicTypes.has(String(name))) && !type.includes('string') && !type.includes('integer')) {
        return withDescription({ type: type as ('number' | 'boolean' | 'null')[] });
      }
      return withDescription({ oneOf: type.map((name) => this.convert({ ...node, type: name, nullable: undefined }, path)) });
    }
    switch (type) {
      case 'object':
        return withDescription(this.object(node, path));
      case 'array':
        return withDescription(this.array(node, path));
      case 'string':
        return withDescription(this.string(node, path));
      case 'integer':
        return withDescription(this.integer(node, path));
      case 'number':
        this.rejectRange(node, path, 'number');
        return withDescription({ type: 'number' });
      case 'boolean':
      case 'null':
        return withDescription({ type });
      default:
        this.fail(`${path}/type`, `unknown type ${JSON.stringify(type)}; use object, array, string, number, integer, boolean or null.`);
    }
  }

  private primitive(value: unknown, path: string): Primitive {
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) return value as Primitive;
    this.fail(path, 'only strings, numbers, booleans and null are supported as const or enum values.');
  }

  private object(node: Schema, path: string): GbnfJsonSchema {
    const properties: Record<string, GbnfJsonSchema> = {};
    const given = node.properties ?? {};
    if (given === null || typeof given !== 'object' || Array.isArray(given)) this.fail(`${path}/properties`, 'properties must be an object.');
    for (const [name, child] of Object.entries(given as Schema)) properties[name] = this.convert(child, `${path}/properties/${name}`);
    const required = node.required;
    if (required !== undefined && (!Array.isArray(required) || required.some((name) => typeof name !== 'string'))) {
      this.fail(`${path}/required`, 'required must be a list of property names.');
    }
    const additional = node.additionalProperties;
    // Extra properties are allowed by default in JSON Schema, but never needed to satisfy it:
    // generating none keeps the output valid and the model on the declared fields.
    let additionalProperties: boolean | GbnfJsonSchema = false;
    if (additional !== undefined && additional !== false) {
      if (Object.keys(properties).length === 0) additionalProperties = additional === true ? true : this.convert(additional, `${path}/additionalProperties`);
    }
    const result: Record<string, unknown> = { type: 'object', properties, additionalProperties };
    if (Array.isArray(required)) result.required = (required as string[]).filter((name) => name in properties);
    for (const key of ['minProperties', 'maxProperties'] as const) if (typeof node[key] === 'number') result[key] = node[key];
    const defs = (node.$defs ?? node.definitions) as Schema | undefined;
    if (defs && typeof defs === 'object') {
      result.$defs = Object.fromEntries(Object.entries(defs).map(([name, child]) => [name, this.convert(child, `${path}/$defs/${name}`)]));
    }
    return result as GbnfJsonSchema;
  }

  private array(node: Schema, path: string): GbnfJsonSchema {
    const result: Record<string, unknown> = { type: 'array' };
    if (node.items !== undefined && node.items !== true) result.items = this.convert(node.items, `${path}/items`);
    if (Array.isArray(node.prefixItems)) result.prefixItems = node.prefixItems.map((child, index) => this.convert(child, `${path}/prefixItems/${index}`));
    for (const key of ['minItems', 'maxItems'] as const) if (typeof node[key] === 'number') result[key] = node[key];
    return result as GbnfJsonSchema;
  }

  private string(node: Schema, path: string): GbnfJsonSchema {
    if ('pattern' in node) this.fail(`${path}/pattern`, "the keyword 'pattern' cannot be enforced by a grammar here; use enum, or remove it.");
    const format = node.format;
    if (format !== undefined) {
      if (format === 'date-time' || format === 'date' || format === 'time') return { type: 'string', format };
      this.fail(`${path}/format`, `format '${String(format)}' cannot be enforced by a grammar; supported formats are date-time, date and time.`);
    }
    const result: Record<string, unknown> = { type: 'string' };
    for (const key of ['minLength', 'maxLength'] as const) if (typeof node[key] === 'number') result[key] = node[key];
    return result as GbnfJsonSchema;
  }

  private integer(node: Schema, path: string): GbnfJsonSchema {
    const hasRange = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'].some((key) => key in node);
    if (!hasRange) return { type: 'integer' };
    let low = typeof node.minimum === 'number' ? Math.ceil(node.minimum) : undefined;
    let high = typeof node.maximum === 'number' ? Math.floor(node.maximum) : undefined;
    if (typeof node.exclusiveMinimum === 'number') low = Math.floor(node.exclusiveMinimum) + 1;
    if (typeof node.exclusiveMaximum === 'number') high = Math.ceil(node.exclusiveMaximum) - 1;
    if (low === undefined || high === undefined || high - low > maxEnumeratedRange) {
      this.fail(
        path,
        `an integer range is enforced by listing its values, so it needs both a minimum and a maximum at most ${maxEnumeratedRange} apart; use enum, narrow the range, or remove it.`,
      );
    }
    if (high < low) this.fail(path, 'the range is empty (maximum is below minimum).');
    return { enum: Array.from({ length: high - low + 1 }, (_, index) => low + index) };
  }

  private rejectRange(node: Schema, path: string, type: string): void {
    for (const key of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']) {
      if (key in node)
        this.fail(`${path}/${key}`, `a ${type} range cannot be enforced by a grammar; use type integer with a range, or enum, or remove '${key}'.`);
    }
  }
}

/**
 * Converts a JSON Schema into node-llama-cpp's grammar schema. `param` names the request field
 * for errors (`response_format.json_schema.schema`, `tools[0].function.parameters`).
 */
export function jsonSchemaToGrammarSchema(schema: unknown, param: string): GbnfJsonSchema {
  return new Converter(param).convert(schema, '');
}
