/**
 * Thing models in the W3C WoT Thing Model form: properties, actions and events whose data
 * schemas are JSON Schema, `safe` and `idempotent` on actions, plus Nimbus terms: `nimbus:kind`
 * (what the device is) and `nimbus:risk` (low, high, critical) on the model or any affordance.
 * An invalid model is refused with a 400 naming the offending field.
 */
import type { RiskTier } from '../core/device-store.js';
import { NimbusError } from '../core/errors.js';
import { checkDataSchema, compileValidator, dataSchemaOf, type DataSchema } from './data-schema.js';
import { defaultRisk, isRiskTier } from './risk.js';

/**
 * A risk that depends on the device's state (`nimbus:riskWhen`): while the reported `property`
 * equals `equals` (or is not reported yet), the affordance has at least `risk`. Evaluated by the
 * policy at the time of each command.
 */
export interface RiskCondition {
  property: string;
  equals: unknown;
  risk: RiskTier;
}

/** A property: readable state, writable unless `readOnly`. */
export interface PropertyAffordance {
  name: string;
  description: string | undefined;
  schema: DataSchema;
  readOnly: boolean;
  risk: RiskTier;
  riskWhen: RiskCondition[];
  /** Checks a value for writing; returns the problem in words or undefined. */
  validate(value: unknown): string | undefined;
}

/** An action: `safe` ones change nothing, `idempotent` ones may be repeated. */
export interface ActionAffordance {
  name: string;
  description: string | undefined;
  input: DataSchema | undefined;
  output: DataSchema | undefined;
  safe: boolean;
  idempotent: boolean;
  risk: RiskTier;
  riskWhen: RiskCondition[];
  /** Checks an input; returns the problem in words or undefined. */
  validate(input: unknown): string | undefined;
}

/** An event a device emits. */
export interface EventAffordance {
  name: string;
  description: string | undefined;
  data: DataSchema | undefined;
}

/** A validated thing model, with the effective risk of every affordance resolved. */
export interface ThingModel {
  title: string;
  description: string | undefined;
  kind: string | undefined;
  /** The device-level tier: `nimbus:risk`, else the default of its class. */
  risk: RiskTier;
  properties: Record<string, PropertyAffordance>;
  actions: Record<string, ActionAffordance>;
  events: Record<string, EventAffordance>;
  /** The model as registered. */
  source: Record<string, unknown>;
}

const namePattern = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;
const nimbusTerms = new Set(['nimbus:kind', 'nimbus:risk', 'nimbus:riskWhen']);
const maxAffordances = 64;

class ModelChecker {
  fail(field: string, message: string): never {
    throw new NimbusError('invalid_value', `Invalid thing model: '${field}' ${message}.`, { param: `model.${field}` });
  }

  object(value: unknown, field: string): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(field, 'must be a JSON object');
    return value as Record<string, unknown>;
  }

  optionalString(value: unknown, field: string, max = 2000): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length > max) this.fail(field, `must be a string of at most ${max} characters`);
    return value;
  }

  flag(value: unknown, field: string, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(field, 'must be true or false');
    return value;
  }

  nimbus(node: Record<string, unknown>, field: string, inherited: RiskTier): RiskTier {
    for (const key of Object.keys(node)) {
      if (key.startsWith('nimbus:') && !nimbusTerms.has(key))
        this.fail(`${field}${field ? '.' : ''}${key}`, `is not a Nimbus term; known: ${[...nimbusTerms].join(', ')}`);
    }
    const risk = node['nimbus:risk'];
    if (risk === undefined) return inherited;
    if (!isRiskTier(risk)) this.fail(`${field}${field ? '.' : ''}nimbus:risk`, `must be one of low, high, critical (got ${JSON.stringify(risk)})`);
    return risk;
  }

  riskWhen(node: Record<string, unknown>, field: string, properties: ReadonlySet<string>): RiskCondition[] {
    const value = node['nimbus:riskWhen'];
    if (value === undefined) return [];
    const where = `${field}.nimbus:riskWhen`;
    if (!Array.isArray(value)) this.fail(where, 'must be a list of {"property", "equals", "risk"}');
    return value.map((entry: unknown, index) => {
      const condition = this.object(entry, `${where}.${index}`);
      const property = condition.property;
      if (typeof property !== 'string' || !properties.has(property)) this.fail(`${where}.${index}.property`, 'must name a property of this thing model');
      if (!('equals' in condition)) this.fail(`${where}.${index}.equals`, 'is required: the value of the property that raises the risk');
      if (!isRiskTier(condition.risk)) this.fail(`${where}.${index}.risk`, 'must be one of low, high, critical');
      return { property, equals: condition.equals, risk: condition.risk };
    });
  }

  schema(value: unknown, field: string): DataSchema {
    const problem = checkDataSchema(value, field);
    if (problem) {
      const [where, ...rest] = problem.split(': ');
      this.fail(where ?? field, rest.join(': '));
    }
    return value as DataSchema;
  }

  names(value: unknown, field: string): Array<[string, Record<string, unknown>]> {
    if (value === undefined) return [];
    const group = this.object(value, field);
    return Object.entries(group).map(([name, affordance]) => {
      if (!namePattern.test(name)) this.fail(`${field}.${name}`, 'has an invalid name: use a letter, then letters, digits or _ (at most 32)');
      return [name, this.object(affordance, `${field}.${name}`)];
    });
  }
}

/** Validates a thing model; throws a 400 naming the offending field. */
export function parseThingModel(value: unknown): ThingModel {
  // Typed explicitly so TypeScript narrows after `check.fail` (which never returns).
  const check: ModelChecker = new ModelChecker();
  const model = check.object(value, '(root)');
  const title = model.title;
  if (typeof title !== 'string' || title.trim() === '' || title.length > 200) check.fail('title', 'is required: a non-empty string of at most 200 characters');
  const types = model['@type'];
  if (types !== undefined && typeof types !== 'string' && !(Array.isArray(types) && types.every((entry) => typeof entry === 'string'))) {
    check.fail('@type', 'must be a string or a list of strings');
  }
  const kind = check.optionalString(model['nimbus:kind'], 'nimbus:kind', 64);
  const typeList = types === undefined ? [] : Array.isArray(types) ? types : [types];
  const risk = check.nimbus(model, '', defaultRisk([kind ?? '', ...typeList, title]));

  const declared = new Set(model.properties && typeof model.properties === 'object' ? Object.keys(model.properties) : []);
  const properties: Record<string, PropertyAffordance> = {};
  for (const [name, node] of check.names(model.properties, 'properties')) {
    const field = `properties.${name}`;
    const schema = check.schema(node, field);
    check.flag(node.observable, `${field}.observable`, false);
    properties[name] = {
      name,
      description: check.optionalString(node.description, `${field}.description`),
      schema: dataSchemaOf(schema),
      readOnly: check.flag(node.readOnly, `${field}.readOnly`, false),
      risk: check.nimbus(node, field, risk),
      riskWhen: check.riskWhen(node, field, declared),
      validate: compileValidator(schema, name),
    };
  }
  const actions: Record<string, ActionAffordance> = {};
  for (const [name, node] of check.names(model.actions, 'actions')) {
    const field = `actions.${name}`;
    const input = node.input === undefined ? undefined : check.schema(node.input, `${field}.input`);
    const output = node.output === undefined ? undefined : check.schema(node.output, `${field}.output`);
    const validateInput = input ? compileValidator(input, 'input') : undefined;
    actions[name] = {
      name,
      description: check.optionalString(node.description, `${field}.description`),
      input: input && dataSchemaOf(input),
      output: output && dataSchemaOf(output),
      safe: check.flag(node.safe, `${field}.safe`, false),
      idempotent: check.flag(node.idempotent, `${field}.idempotent`, false),
      risk: check.nimbus(node, field, risk),
      riskWhen: check.riskWhen(node, field, declared),
      validate: (given) => (validateInput ? validateInput(given) : isEmpty(given) ? undefined : 'input must be empty: this action takes no input'),
    };
  }
  const events: Record<string, EventAffordance> = {};
  for (const [name, node] of check.names(model.events, 'events')) {
    const field = `events.${name}`;
    check.nimbus(node, field, risk);
    const data = node.data === undefined ? undefined : check.schema(node.data, `${field}.data`);
    events[name] = { name, description: check.optionalString(node.description, `${field}.description`), data: data && dataSchemaOf(data) };
  }
  const count = Object.keys(properties).length + Object.keys(actions).length + Object.keys(events).length;
  if (count > maxAffordances) check.fail('(root)', `has ${count} affordances; at most ${maxAffordances} are allowed`);
  return { title, description: check.optionalString(model.description, 'description'), kind, risk, properties, actions, events, source: model };
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0);
}
