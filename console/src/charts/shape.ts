/** Data shaping for the charts: pure functions from API records to points, tested on their own. */
import type { RequestEvent, UsageRow } from '../api/types.js';

/** One time bucket of the live charts. */
export interface RatePoint {
  /** Start of the bucket, unix ms. */
  at: number;
  requestsPerSecond: number;
  tokensPerSecond: number;
  /** Mean time to first token of the bucket's requests; null when none produced a token. */
  ttftMs: number | null;
}

/**
 * Buckets finished requests into `windowMs / bucketMs` slots ending at `now`: requests and
 * completion tokens per second, and the mean TTFT. Requests outside the window are ignored.
 */
export function rateSeries(events: readonly RequestEvent[], now: number, windowMs = 60_000, bucketMs = 2_000): RatePoint[] {
  const count = Math.ceil(windowMs / bucketMs);
  const start = now - count * bucketMs;
  const buckets = Array.from({ length: count }, (_, index) => ({ at: start + index * bucketMs, requests: 0, tokens: 0, ttftSum: 0, ttftCount: 0 }));
  for (const event of events) {
    const index = Math.floor((event.at - start) / bucketMs);
    const bucket = buckets[index];
    if (!bucket) continue;
    bucket.requests += 1;
    bucket.tokens += event.completion_tokens;
    if (event.ttft_ms !== null) {
      bucket.ttftSum += event.ttft_ms;
      bucket.ttftCount += 1;
    }
  }
  const seconds = bucketMs / 1000;
  return buckets.map((bucket) => ({
    at: bucket.at,
    requestsPerSecond: bucket.requests / seconds,
    tokensPerSecond: bucket.tokens / seconds,
    ttftMs: bucket.ttftCount > 0 ? bucket.ttftSum / bucket.ttftCount : null,
  }));
}

/** Which kind of hardware computed a request, from its device class. */
export function hardwareOf(deviceClass: string | null | undefined): 'cpu' | 'gpu' | 'upstream' {
  if (deviceClass === null || deviceClass === undefined || deviceClass === '') return 'upstream';
  return deviceClass === 'cpu' ? 'cpu' : 'gpu';
}

/** Tokens computed on CPU, on GPU and by upstreams; `gpuFraction` of the local work (0 to 1, null when none). */
export function hardwareShare(events: readonly RequestEvent[]): { cpu: number; gpu: number; upstream: number; gpuFraction: number | null } {
  const share = { cpu: 0, gpu: 0, upstream: 0 };
  for (const event of events) share[hardwareOf(event.device_class)] += event.prompt_tokens + event.completion_tokens;
  const local = share.cpu + share.gpu;
  return { ...share, gpuFraction: local > 0 ? share.gpu / local : null };
}

/** A dimension of `GET /v1/usage`, by its `group_by` name. */
export type UsageDimension = 'model' | 'key' | 'day' | 'device_class';

/** What a usage chart measures. */
export type UsageMetric = 'requests' | 'total_tokens' | 'cost_usd' | 'compute_seconds';

export interface Bar {
  label: string;
  value: number;
}

function labelOf(row: UsageRow, dimension: UsageDimension): string {
  switch (dimension) {
    case 'model':
      return row.model ?? '(none)';
    case 'key':
      return row.key_id ?? 'local mode';
    case 'day':
      return row.day ?? '(none)';
    case 'device_class':
      // No device class: an upstream served it, or nothing did (a refused, failed or cancelled request).
      return row.device_class ?? (row.status === undefined || row.status === 'served' ? 'upstream' : row.status);
    default:
      return '(unknown)';
  }
}

/** Days from `start` to `end` (YYYY-MM-DD, UTC), both included. */
export function daysBetween(start: string, end: string): string[] {
  const days: string[] = [];
  for (let at = Date.parse(`${start}T00:00:00Z`); at <= Date.parse(`${end}T00:00:00Z`) && days.length < 1000; at += 86_400_000) {
    days.push(new Date(at).toISOString().slice(0, 10));
  }
  return days;
}

/**
 * Bars of one usage grouping: by day in calendar order with empty days as zero (when the range
 * is given), otherwise largest first.
 */
export function usageBars(rows: readonly UsageRow[], dimension: UsageDimension, metric: UsageMetric, range?: { start: string; end: string }): Bar[] {
  const totals = new Map<string, number>();
  for (const row of rows) totals.set(labelOf(row, dimension), (totals.get(labelOf(row, dimension)) ?? 0) + row[metric]);
  if (dimension === 'day') {
    const days = range ? daysBetween(range.start, range.end) : [...totals.keys()].sort();
    return days.map((day) => ({ label: day, value: totals.get(day) ?? 0 }));
  }
  return [...totals].map(([label, value]) => ({ label, value })).sort((a, b) => b.value - a.value || a.label.localeCompare(b.label));
}

/** An SVG path through the points, scaled into width x height with `max` at the top; gaps where a value is null. */
export function linePath(values: ReadonlyArray<number | null>, width: number, height: number, max: number): string {
  if (values.length === 0) return '';
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const top = max > 0 ? max : 1;
  let path = '';
  let drawing = false;
  values.forEach((value, index) => {
    if (value === null) {
      drawing = false;
      return;
    }
    const x = Math.round(index * step * 10) / 10;
    const y = Math.round((height - (Math.min(value, top) / top) * height) * 10) / 10;
    path += `${drawing ? 'L' : 'M'}${x},${y}`;
    drawing = true;
  });
  return path;
}

/** A round upper bound for an axis: 1, 2 or 5 times a power of ten, at least `value`. */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}
