/**
 * Reads the public traces in ../shared/data/traces into one request shape the simulator replays.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The traces folder: NIMBUS_TRACES, or ../shared/data/traces beside the checkout (a worktree has none). */
export const tracesDir = process.env.NIMBUS_TRACES ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'data', 'traces');

/** One request of a trace. */
export interface TraceRequest {
  /** Milliseconds since the trace's first request. */
  arrivalMs: number;
  inputTokens: number;
  outputTokens: number;
  /** Ids of the prompt's 512-token blocks (Mooncake); equal leading ids mean a shared prefix. Absent for Azure. */
  blocks?: readonly number[];
}

/** Tokens per Mooncake hash id. */
export const blockTokens = 512;

/** Mooncake's JSONL: `timestamp` (ms), `input_length`, `output_length`, `hash_ids`. */
export function readMooncake(path: string): TraceRequest[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const row = JSON.parse(line) as { timestamp: number; input_length: number; output_length: number; hash_ids: number[] };
      return { arrivalMs: row.timestamp, inputTokens: row.input_length, outputTokens: Math.max(1, row.output_length), blocks: row.hash_ids };
    });
}

/** Azure's CSV: `TIMESTAMP,ContextTokens,GeneratedTokens`, timestamps as `2023-11-16 18:15:46.6805900` (UTC). */
export function readAzure(path: string): TraceRequest[] {
  const rows = readFileSync(path, 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '');
  const parsed = rows.map((line) => {
    const [stamp = '', input = '0', output = '0'] = line.split(',');
    const [date = '', time = ''] = stamp.split(' ');
    const [clock = '', fraction = '0'] = time.split('.');
    const ms = Date.parse(`${date}T${clock}Z`) + Number(`0.${fraction}`) * 1000;
    return { arrivalMs: ms, inputTokens: Number(input), outputTokens: Math.max(1, Number(output)) };
  });
  const start = Math.min(...parsed.map((row) => row.arrivalMs));
  return parsed.map((row) => ({ ...row, arrivalMs: row.arrivalMs - start })).sort((a, b) => a.arrivalMs - b.arrivalMs);
}
