/**
 * Reads a batch's input file (JSON lines, OpenAI's batch format) and checks each line's frame:
 * a JSON object with a unique `custom_id`, `method: "POST"`, the batch's `url` and a `body` with
 * a `model`. Problems are reported with their line number, as OpenAI's `errors.data[]` does; a
 * body the endpoint refuses later is an error line of the output, not a failed batch.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { BatchEndpoint, BatchError } from '../core/batch-store.js';

/** One request of a batch. */
export interface BatchLine {
  /** Its position among the file's requests, from 0 (blank lines are skipped). */
  index: number;
  /** The file's line number, from 1. */
  lineNumber: number;
  customId: string;
  body: Record<string, unknown>;
}

/** What reading found: the requests, or why the batch fails. */
export type BatchInput = { ok: true; lines: BatchLine[] } | { ok: false; errors: BatchError[] };

export interface InputLimits {
  maxRequests: number;
}

/** Problems listed at most; a file with more says how many there were in the last entry. */
const maxErrors = 100;
const maxCustomIdLength = 512;

function problem(code: string, message: string, line: number | null, param: string | null = null): BatchError {
  return { code, message, param, line };
}

/** Checks one parsed line against the frame; returns the problem or the line's parts. */
function checkLine(value: unknown, endpoint: BatchEndpoint, line: number): BatchError | { customId: string; body: Record<string, unknown> } {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return problem('invalid_request', 'Each line must be a JSON object with custom_id, method, url and body.', line);
  const record = value as Record<string, unknown>;
  const customId = record.custom_id;
  if (typeof customId !== 'string' || customId.length === 0)
    return problem('missing_required_parameter', "The line has no 'custom_id' (a non-empty string that names the request in the output).", line, 'custom_id');
  if (customId.length > maxCustomIdLength) return problem('invalid_value', `'custom_id' is longer than ${maxCustomIdLength} characters.`, line, 'custom_id');
  if (record.method !== 'POST') return problem('invalid_value', '\'method\' must be "POST".', line, 'method');
  if (record.url !== endpoint)
    return problem('invalid_url', `'url' is ${JSON.stringify(record.url)}, but this batch's endpoint is ${endpoint}: every line must call it.`, line, 'url');
  const body = record.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return problem('invalid_request', "'body' must be a JSON object: the request itself.", line, 'body');
  if (typeof (body as Record<string, unknown>).model !== 'string')
    return problem('missing_required_parameter', "'body.model' must name a model.", line, 'body.model');
  return { customId, body: body as Record<string, unknown> };
}

/** Reads and checks the whole file; stops collecting problems (not counting them) past `maxErrors`. */
export async function readBatchInput(source: Readable, endpoint: BatchEndpoint, limits: InputLimits): Promise<BatchInput> {
  const lines: BatchLine[] = [];
  const errors: BatchError[] = [];
  let problems = 0;
  const seen = new Set<string>();
  const report = (error: BatchError): void => {
    problems += 1;
    if (errors.length < maxErrors) errors.push(error);
  };
  let lineNumber = 0;
  let requests = 0;
  for await (const text of createInterface({ input: source, crlfDelay: Infinity })) {
    lineNumber += 1;
    if (text.trim() === '') continue;
    requests += 1;
    if (requests > limits.maxRequests) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      report(problem('invalid_json_line', `The line is not valid JSON: ${(error as Error).message}.`, lineNumber));
      continue;
    }
    const checked = checkLine(value, endpoint, lineNumber);
    if ('code' in checked) {
      report(checked);
      continue;
    }
    if (seen.has(checked.customId)) {
      report(
        problem('duplicate_custom_id', `The custom_id '${checked.customId}' is used by an earlier line; each request needs its own.`, lineNumber, 'custom_id'),
      );
      continue;
    }
    seen.add(checked.customId);
    lines.push({ index: lines.length, lineNumber, customId: checked.customId, body: checked.body });
  }
  if (requests > limits.maxRequests)
    report(
      problem('too_many_requests', `The file has ${requests} requests; a batch may hold at most ${limits.maxRequests}. Split it into several batches.`, null),
    );
  if (requests === 0) report(problem('empty_file', 'The input file has no requests: write one JSON object per line.', null));
  if (problems > errors.length) errors.push(problem('too_many_errors', `${problems - errors.length} more problems were found and not listed.`, null));
  return problems > 0 ? { ok: false, errors } : { ok: true, lines };
}
