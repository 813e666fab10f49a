/**
 * JSON Schema -> the schema form node-llama-cpp turns into a GBNF grammar. Output generated
 * under the grammar always parses. Integer ranges of any width and the sign of numbers are held
 * by number-grammar.ts's rules: node-llama-cpp's schema form has no bounds, so each bounded
 * number stands in it as a placeholder constant whose rule `buildJsonGrammar` swaps in. What a
 * grammar cannot hold but a check after generation can (other number ranges, and any range under
 * tool_choice auto, whose grammar node-llama-cpp builds itself) makes the result inexact: the
 * engine then checks the output and samples again (output-check.ts). A keyword neither can
 * enforce (pattern, multipleOf, ...) is refused here with a 400 that names it.
 */
import type { GbnfJsonSchema, Llama, LlamaGrammar } from 'node-llama-cpp';
import { NimbusError } from '../../core/errors.js';
import { decimal, integerRange, maxSafe, toGbnf, type NumberSign } from './number-grammar.js';

type Schema = Record<string, unknown>;
type Primitive = string | number | boolean | null;

const metadataKeys = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'deprecated', 'readOnly', 'writeOnly']);
const basicTypes = new Set(['string', 'number', 'integer', 'boolean', 'null']);

/** A converted schema: node-llama-cpp's form, the rules of its placeholders, and whether it is exact. */
export interface GrammarSchema {
  schema: GbnfJsonSchema;
  /** Placeholder constant -> the GBNF of the number it stands for. */
  rules: Record<string, string>;
  /** False when the output must be checked after generation (the grammar holds less than the schema says). */
  exact: boolean;
}

/**
 * `grammar`: Nimbus builds the grammar (response_format, forced tool calls), so placeholders work.
 * `functions`: node-llama-cpp builds it from plain schemas (tool_choice auto): numbers stay plain.
 */
export type GrammarMode = 'grammar' | 'functions';

const placeholderPrefix = 'nimbus-number-';

const anyValue: GbnfJsonSchema = {
  oneOf: [{ type: ['string', 'number', 'boolean', 'null'] }, { type: 'object', additionalProperties: true }, { type: 'array' }],
};

class Converter {
  readonly rules: Record<string, string> = {};
  private readonly markers = new Map<string, string>();
  exact = true;

  constructor(
    private readonly param: string,
    private readonly mode: GrammarMode,
  ) {}

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
      const plain = !type.includes('string') && !type.includes('integer') && !type.includes('number');
      if (type.every((name) => basicTypes.has(String(name))) && plain) {
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
        return withDescription(this.number(node, path));
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
    const { lower, upper } = this.bounds(node, path);
    const low = lower === undefined ? -maxSafe : lower.exclusive ? Math.floor(lower.value) + 1 : Math.ceil(lower.value);
    const high = upper === undefined ? maxSafe : upper.exclusive ? Math.ceil(upper.value) - 1 : Math.floor(upper.value);
    if (high < -maxSafe || low > maxSafe) this.fail(path, `the range holds no integer JSON can carry exactly (beyond +-${maxSafe}).`);
    if (high < low) this.fail(path, 'the range is empty: no integer lies between its minimum and maximum.');
    if (this.mode === 'functions') {
      this.exact = false;
      return { type: 'integer' };
    }
    return this.placeholder(toGbnf(integerRange(Math.max(low, -maxSafe), Math.min(high, maxSafe))));
  }

  /** A number: its sign by grammar where a bound says it; any other range is checked after generation. */
  private number(node: Schema, path: string): GbnfJsonSchema {
    const { lower, upper } = this.bounds(node, path);
    if (lower && upper && (lower.value > upper.value || (lower.value === upper.value && (lower.exclusive || upper.exclusive)))) {
      this.fail(path, 'the range is empty (maximum is below minimum).');
    }
    let sign: NumberSign = 'any';
    if (lower && lower.value >= 0) sign = lower.value > 0 || lower.exclusive ? 'positive' : 'nonnegative';
    else if (upper && upper.value <= 0) sign = upper.value < 0 || upper.exclusive ? 'negative' : 'nonpositive';
    // Exact only where the sign is the whole range: one bound, at zero.
    const signOnly = (lower === undefined) !== (upper === undefined) && (lower ?? upper)!.value === 0;
    if (this.mode === 'functions') {
      this.exact = false;
      return { type: 'number' };
    }
    if (lower !== undefined || upper !== undefined) this.exact &&= signOnly;
    return this.placeholder(toGbnf(decimal(sign)));
  }

  /** The bounds a schema sets (draft 4's boolean exclusives too); +-(2^53-1) is no bound. */
  private bounds(node: Schema, path: string): { lower?: { value: number; exclusive: boolean }; upper?: { value: number; exclusive: boolean } } {
    const read = (key: string): number | undefined => {
      const value = node[key];
      if (value === undefined || typeof value === 'boolean') return undefined;
      if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(`${path}/${key}`, `${key} must be a number.`);
      const lower = key.endsWith('inimum');
      return (lower && value <= -maxSafe) || (!lower && value >= maxSafe) ? undefined : value;
    };
    const result: { lower?: { value: number; exclusive: boolean }; upper?: { value: number; exclusive: boolean } } = {};
    const minimum = read('minimum');
    const exclusiveMinimum = read('exclusiveMinimum');
    const maximum = read('maximum');
    const exclusiveMaximum = read('exclusiveMaximum');
    if (minimum !== undefined) result.lower = { value: minimum, exclusive: node.exclusiveMinimum === true };
    if (exclusiveMinimum !== undefined && (result.lower === undefined || exclusiveMinimum >= result.lower.value))
      result.lower = { value: exclusiveMinimum, exclusive: true };
    if (maximum !== undefined) result.upper = { value: maximum, exclusive: node.exclusiveMaximum === true };
    if (exclusiveMaximum !== undefined && (result.upper === undefined || exclusiveMaximum <= result.upper.value))
      result.upper = { value: exclusiveMaximum, exclusive: true };
    return result;
  }

  /** A constant standing for `rule` in node-llama-cpp's schema form (one per distinct rule). */
  private placeholder(rule: string): GbnfJsonSchema {
    let marker = this.markers.get(rule);
    if (marker === undefined) {
      marker = `${placeholderPrefix}${this.markers.size}`;
      this.markers.set(rule, marker);
      this.rules[marker] = rule;
    }
    return { const: marker };
  }
}

/**
 * Converts a JSON Schema into node-llama-cpp's grammar schema, its number rules and whether it is
 * exact. `param` names the request field for errors (`response_format.json_schema.schema`,
 * `tools[0].function.parameters`).
 */
export function jsonSchemaToGrammar(schema: unknown, param: string, mode: GrammarMode = 'grammar'): GrammarSchema {
  const converter = new Converter(param, mode);
  const converted = converter.convert(schema, '');
  return { schema: converted, rules: converter.rules, exact: converter.exact };
}

/** Plain JSON numbers anywhere else (untyped values): no exponent, so never 1e4000. */
const plainNumberRules: Record<string, string> = {
  'integer-number-rule': toGbnf(integerRange(-maxSafe, maxSafe)),
  'fractional-number-rule': toGbnf(decimal('any')),
};

/** The GBNF of a converted schema: node-llama-cpp's, with each placeholder's rule swapped in. */
export function jsonGrammarText(generated: string, rules: Readonly<Record<string, string>>): string {
  let text = generated;
  for (const [marker, rule] of Object.entries(rules)) {
    const line = new RegExp(`^(\\S+) ::= "\\\\"${marker}\\\\""$`, 'm');
    if (!line.test(text)) throw new Error(`grammar placeholder ${marker} not found in node-llama-cpp's grammar`);
    text = text.replace(line, (_whole, name: string) => `${name} ::= ${rule}`);
  }
  for (const [name, rule] of Object.entries(plainNumberRules)) text = text.replace(new RegExp(`^${name} ::= .*$`, 'm'), `${name} ::= ${rule}`);
  return text;
}

/** Builds the llama.cpp grammar of a converted schema. */
export async function buildJsonGrammar(llama: Llama, grammar: GrammarSchema): Promise<LlamaGrammar> {
  const generated = await llama.createGrammarForJsonSchema(grammar.schema as never);
  return llama.createGrammar({
    grammar: jsonGrammarText(generated.grammar, grammar.rules),
    stopGenerationTriggers: [...generated.stopGenerationTriggers],
    trimWhitespaceSuffix: generated.trimWhitespaceSuffix,
  });
}
