/**
 * Which control a thing model's data schema gets in the console: a toggle for booleans, a slider
 * for numbers with a range, a select for enums, a number or text field otherwise, and JSON only
 * for what none of these can take (arrays, objects without declared fields). Pure: the pages
 * render what this decides, and its cases are unit-tested.
 */

/** The parts of a JSON Schema (a thing model's data schema) the controls read. */
export interface DataSchema {
  type?: string | string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  unit?: string;
  readOnly?: boolean;
  properties?: Record<string, DataSchema>;
  required?: string[];
  description?: string;
  title?: string;
}

export type Control =
  | { kind: 'toggle' }
  | { kind: 'slider'; min: number; max: number; step: number; integer: boolean }
  | { kind: 'number'; integer: boolean; min?: number; max?: number }
  | { kind: 'select'; options: Array<string | number | boolean> }
  | { kind: 'text' }
  | { kind: 'fields'; fields: Array<{ name: string; control: Control; required: boolean; unit?: string }> }
  | { kind: 'none' }
  | { kind: 'json' };

function typeOf(schema: DataSchema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((type) => type !== 'null');
  return schema.type;
}

/** The control for a value of `schema`; `undefined` (an action without input) is `none`. */
export function controlFor(schema: DataSchema | undefined, depth = 0): Control {
  if (!schema) return { kind: 'none' };
  if (Array.isArray(schema.enum) && schema.enum.length > 0 && schema.enum.every((value) => ['string', 'number', 'boolean'].includes(typeof value)))
    return { kind: 'select', options: schema.enum as Array<string | number | boolean> };
  const type = typeOf(schema);
  if (type === 'boolean') return { kind: 'toggle' };
  if (type === 'number' || type === 'integer') {
    const integer = type === 'integer';
    if (typeof schema.minimum === 'number' && typeof schema.maximum === 'number' && schema.maximum > schema.minimum) {
      const step = schema.multipleOf ?? (integer ? 1 : stepFor(schema.maximum - schema.minimum));
      return { kind: 'slider', min: schema.minimum, max: schema.maximum, step, integer };
    }
    return {
      kind: 'number',
      integer,
      ...(schema.minimum !== undefined ? { min: schema.minimum } : {}),
      ...(schema.maximum !== undefined ? { max: schema.maximum } : {}),
    };
  }
  if (type === 'string') return { kind: 'text' };
  if (type === 'object' && schema.properties && depth === 0) {
    const required = new Set(schema.required ?? []);
    const fields = Object.entries(schema.properties).map(([name, field]) => ({
      name,
      control: controlFor(field, depth + 1),
      required: required.has(name),
      ...(field.unit ? { unit: field.unit } : {}),
    }));
    if (fields.every((field) => field.control.kind !== 'json' && field.control.kind !== 'none' && field.control.kind !== 'fields'))
      return { kind: 'fields', fields };
  }
  return { kind: 'json' };
}

/** A slider step that gives about a hundred positions over a float range. */
function stepFor(span: number): number {
  const raw = span / 100;
  const power = 10 ** Math.floor(Math.log10(raw));
  return Number((Math.round(raw / power) * power).toPrecision(1));
}

/**
 * The value a control's text stands for, or an error in words: numbers parsed and checked against
 * the range, enum options back to their type, JSON parsed. An empty optional field is `undefined`.
 */
export function valueOf(control: Control, text: string): { value: unknown } | { error: string } {
  const trimmed = text.trim();
  switch (control.kind) {
    case 'toggle':
      return { value: trimmed === 'true' };
    case 'slider':
    case 'number': {
      if (!trimmed) return { value: undefined };
      const value = Number(trimmed);
      if (!Number.isFinite(value)) return { error: `${JSON.stringify(text)} is not a number.` };
      if (control.integer && !Number.isInteger(value)) return { error: `${value} is not a whole number.` };
      const min = control.kind === 'slider' ? control.min : control.min;
      const max = control.kind === 'slider' ? control.max : control.max;
      if ((min !== undefined && value < min) || (max !== undefined && value > max)) return { error: `${value} is outside ${min ?? '-∞'} to ${max ?? '∞'}.` };
      return { value };
    }
    case 'select': {
      const option = control.options.find((candidate) => String(candidate) === text);
      return option === undefined ? { error: `Pick one of ${control.options.join(', ')}.` } : { value: option };
    }
    case 'text':
      return { value: text };
    case 'none':
      return { value: undefined };
    case 'fields':
      return { error: 'Fields are read one by one (fieldsValue).' };
    case 'json':
      if (!trimmed) return { value: undefined };
      try {
        return { value: JSON.parse(trimmed) as unknown };
      } catch {
        return { error: 'Not JSON: write a number, true/false, "text" or an object such as {"seconds": 5}.' };
      }
  }
}

/** The object the fields of a `fields` control stand for; empty optional fields are left out. */
export function fieldsValue(control: Extract<Control, { kind: 'fields' }>, texts: Record<string, string>): { value: unknown } | { error: string } {
  const value: Record<string, unknown> = {};
  for (const field of control.fields) {
    const text = texts[field.name] ?? '';
    if (!text.trim() && field.control.kind !== 'toggle') {
      if (field.required) return { error: `${field.name} is required.` };
      continue;
    }
    const parsed = valueOf(field.control, text);
    if ('error' in parsed) return { error: `${field.name}: ${parsed.error}` };
    if (parsed.value !== undefined) value[field.name] = parsed.value;
  }
  return { value };
}

/** A reported value in words, with its unit: `21.5 celsius`, `true`, `heat`; objects as compact JSON. */
export function formatValue(value: unknown, unit?: string): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return `${Number.isInteger(value) ? value : Number(value.toFixed(3))}${unit ? ` ${unit}` : ''}`;
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * A numeric property's values over the history (newest first, as the API lists it) for a chart,
 * oldest first: one point per report from the first that carried it; a report without the
 * property (a change of another one) repeats the value it left unchanged.
 */
export function numericSeries(history: ReadonlyArray<{ kind: string; data: unknown }>, property: string): number[] {
  const values: number[] = [];
  for (const entry of [...history].reverse()) {
    if (entry.kind !== 'reported' || typeof entry.data !== 'object' || entry.data === null) continue;
    const value = (entry.data as Record<string, unknown>)[property];
    if (typeof value === 'number') values.push(value);
    else if (values.length > 0) values.push(values.at(-1)!);
  }
  return values;
}
