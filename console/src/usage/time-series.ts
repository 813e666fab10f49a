/** Usage over time for the chart: buckets of an hour or a day, a series per group, and the budget to draw. */
import type { LimitStanding, UsageRow } from '../api/types.js';

export type Granularity = 'hour' | 'day';
export type SplitBy = 'none' | 'model' | 'key' | 'tenant' | 'app_version';
export type TimeMetric = 'cost_usd' | 'total_tokens';

/** One line of the chart. */
export interface Series {
  label: string;
  values: number[];
}

/** The chart's data: bucket labels, a series per group (the five largest, the rest as `other`), the total, and the budget. */
export interface TimeChart {
  buckets: string[];
  series: Series[];
  /** Per day: each day's total; per hour: the running total of each UTC day, which is what a day's budget caps. */
  total: number[];
  /** The tightest day budget of the metric over the caller's key and tenant; null when none. */
  budget: number | null;
}

const hourMs = 3_600_000;
const dayMs = 86_400_000;

/** Bucket labels from `start` to `end` (unix ms, end exclusive), as the API writes them. */
export function bucketLabels(granularity: Granularity, start: number, end: number): string[] {
  const step = granularity === 'hour' ? hourMs : dayMs;
  const labels: string[] = [];
  for (let at = Math.floor(start / step) * step; at < end; at += step) {
    const iso = new Date(at).toISOString();
    labels.push(granularity === 'hour' ? `${iso.slice(0, 13)}:00Z` : iso.slice(0, 10));
  }
  return labels;
}

function groupOf(row: UsageRow, split: SplitBy): string {
  if (split === 'model') return row.model ?? '';
  if (split === 'key') return row.key_id ?? 'no key';
  if (split === 'tenant') return row.tenant ?? '';
  if (split === 'app_version') return row.app_version ? `version ${row.app_version}` : 'no app';
  return 'all';
}

/** The tightest day budget of `metric` among the standings (key and tenant). */
export function dayBudget(standings: readonly LimitStanding[], metric: TimeMetric): number | null {
  const name = metric === 'cost_usd' ? 'cost_per_day_usd' : 'tokens_per_day';
  const limits = standings.filter((standing) => standing.name === name).map((standing) => standing.limit);
  return limits.length > 0 ? Math.min(...limits) : null;
}

/** Shapes `/v1/usage` rows grouped by the granularity (and the split) into the chart. */
export function timeChart(
  rows: readonly UsageRow[],
  granularity: Granularity,
  split: SplitBy,
  metric: TimeMetric,
  buckets: string[],
  budget: number | null,
): TimeChart {
  const index = new Map(buckets.map((label, position) => [label, position]));
  const groups = new Map<string, number[]>();
  for (const row of rows) {
    const position = index.get((granularity === 'hour' ? row.hour : row.day) ?? '');
    if (position === undefined) continue;
    const label = groupOf(row, split);
    const values = groups.get(label) ?? new Array<number>(buckets.length).fill(0);
    values[position]! += row[metric];
    groups.set(label, values);
  }
  const ranked = [...groups.entries()].map(([label, values]) => ({ label, values })).sort((a, b) => sum(b.values) - sum(a.values));
  const series = ranked.slice(0, 5);
  if (ranked.length > 5) series.push({ label: 'other', values: buckets.map((_, position) => sum(ranked.slice(5).map((group) => group.values[position]!))) });
  const perBucket = buckets.map((_, position) => sum(ranked.map((group) => group.values[position]!)));
  const total = granularity === 'day' ? perBucket : runningPerDay(buckets, perBucket);
  return { buckets, series, total, budget };
}

function runningPerDay(buckets: readonly string[], values: readonly number[]): number[] {
  let day = '';
  let running = 0;
  return values.map((value, position) => {
    const bucketDay = buckets[position]!.slice(0, 10);
    if (bucketDay !== day) [day, running] = [bucketDay, 0];
    running += value;
    return running;
  });
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
