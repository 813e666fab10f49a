import { expect, test } from 'vitest';
import type { LimitStanding, UsageRow } from '../api/types.js';
import { bucketLabels, dayBudget, timeChart } from './time-series.js';

const row = (fields: Partial<UsageRow>): UsageRow => ({
  requests: 1,
  prompt_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
  compute_seconds: 0,
  cost_usd: 0,
  ...fields,
});

test('hours of two days: a series per model, and the running total of each UTC day against the day budget', () => {
  const buckets = bucketLabels('hour', Date.parse('2026-12-06T22:00Z'), Date.parse('2026-12-07T02:00Z'));
  expect(buckets).toEqual(['2026-12-06T22:00Z', '2026-12-06T23:00Z', '2026-12-07T00:00Z', '2026-12-07T01:00Z']);
  const rows = [
    row({ hour: '2026-12-06T22:00Z', model: 'a', cost_usd: 1 }),
    row({ hour: '2026-12-06T23:00Z', model: 'b', cost_usd: 2 }),
    row({ hour: '2026-12-07T00:00Z', model: 'a', cost_usd: 4 }),
    row({ hour: '2026-12-07T01:00Z', model: 'a', cost_usd: 8 }),
  ];
  const chart = timeChart(rows, 'hour', 'model', 'cost_usd', buckets, 10);
  expect(chart.series).toEqual([
    { label: 'a', values: [1, 0, 4, 8] },
    { label: 'b', values: [0, 2, 0, 0] },
  ]);
  expect(chart.total).toEqual([1, 3, 4, 12]);
  expect(chart.budget).toBe(10);
});

test('days: each day its total; the tightest day budget of key and tenant', () => {
  const buckets = bucketLabels('day', Date.parse('2026-12-06T00:00Z'), Date.parse('2026-12-08T00:00Z'));
  const chart = timeChart(
    [row({ day: '2026-12-07', total_tokens: 5 }), row({ day: '2026-12-07', total_tokens: 6 })],
    'day',
    'none',
    'total_tokens',
    buckets,
    null,
  );
  expect(chart).toMatchObject({ buckets: ['2026-12-06', '2026-12-07'], series: [{ label: 'all', values: [0, 11] }], total: [0, 11] });
  const standing = (name: string, limit: number) => ({ name, limit }) as LimitStanding;
  expect(dayBudget([standing('tokens_per_day', 500), standing('tokens_per_day', 300), standing('cost_per_day_usd', 2)], 'total_tokens')).toBe(300);
  expect(dayBudget([standing('requests_per_minute', 5)], 'cost_usd')).toBeNull();
});

test("one app's days by version: a series per version, named so", () => {
  const buckets = bucketLabels('day', Date.parse('2026-12-06T00:00Z'), Date.parse('2026-12-08T00:00Z'));
  const rows = [
    row({ day: '2026-12-06', app_version: '1', total_tokens: 30 }),
    row({ day: '2026-12-07', app_version: '1', total_tokens: 5 }),
    row({ day: '2026-12-07', app_version: '2', total_tokens: 50 }),
  ];
  const chart = timeChart(rows, 'day', 'app_version', 'total_tokens', buckets, 1000);
  expect(chart.series).toEqual([
    { label: 'version 2', values: [0, 50] },
    { label: 'version 1', values: [30, 5] },
  ]);
  expect(chart.total).toEqual([30, 55]);
  expect(chart.budget).toBe(1000);
});
