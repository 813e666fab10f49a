import type { z } from 'zod';
import { NimbusError } from '../errors.js';

/** `['messages', 0, 'role']` -> `messages[0].role`, the way OpenAI names a parameter. */
export function formatParamPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return typeof value;
}

function valueAt(body: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let current: unknown = body;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

type Issue = z.core.$ZodIssue;

/** In a union, the branch that got furthest is the one the client meant: report its problem. */
function deepestIssue(issue: Issue): Issue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  let best: Issue = issue;
  for (const branch of issue.errors) {
    const first = branch[0];
    if (!first) continue;
    const candidate = deepestIssue({ ...first, path: [...issue.path, ...first.path] });
    if (candidate.path.length > best.path.length) best = candidate;
  }
  return best;
}

/**
 * Parses a request body against a schema; the first problem becomes a 400 that names the
 * offending parameter (`param`) and says what was expected, as OpenAI's own errors do.
 */
export function parseRequest<Schema extends z.ZodType>(schema: Schema, body: unknown): z.infer<Schema> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new NimbusError('invalid_request', `The request body must be a JSON object, but got ${describe(body)}.`);
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = deepestIssue(result.error.issues[0]!);
  const issuePath = issue.path;
  const value = valueAt(body, issuePath);
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator) {
    const discriminator = issue.discriminator;
    const path = issuePath.at(-1) === discriminator ? issuePath : [...issuePath, discriminator];
    const param = formatParamPath(path);
    const got = valueAt(body, path);
    if (got === undefined) throw new NimbusError('missing_required_parameter', `Missing required parameter: '${param}'.`, { param });
    throw new NimbusError('invalid_value', `Invalid value for '${param}': ${JSON.stringify(got)} is not one of the supported values.`, { param });
  }
  if (issue.code === 'invalid_union') {
    const param = formatParamPath(issuePath);
    throw new NimbusError('invalid_type', `Invalid type for '${param}': got ${describe(value)}, which matches none of the accepted forms.`, { param });
  }
  const param = formatParamPath(issuePath);
  if (value === undefined && issue.code === 'invalid_type') {
    throw new NimbusError('missing_required_parameter', `Missing required parameter: '${param}'.`, { param });
  }
  if (issue.code === 'invalid_type') {
    throw new NimbusError('invalid_type', `Invalid type for '${param}': expected ${issue.expected}, but got ${describe(value)} instead.`, { param });
  }
  throw new NimbusError('invalid_value', `Invalid value for '${param}': ${issue.message}.`, { param });
}
