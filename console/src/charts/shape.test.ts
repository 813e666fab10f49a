import { describe, expect, it } from 'vitest';
import type { RequestEvent, UsageRow } from '../api/types.js';
import { daysBetween, hardwareShare, linePath, niceMax, rateSeries, usageBars } from './shape.js';

const request = (at: number, tokens: number, ttft: number | null, deviceClass: string | null = 'cpu'): RequestEvent => ({
  id: `r${at}`,
  at,
  kind: 'chat',
  model: 'm',
  status: 'ok',
  http_status: 200,
  prompt_tokens: 1,
  completion_tokens: tokens,
  ttft_ms: ttft,
  duration_ms: 10,
  device_class: deviceClass,
  key: null,
  tenant: 'default',
});

describe('rateSeries', () => {
  it('buckets requests, tokens per second and mean TTFT, dropping what is outside the window', () => {
    const now = 10_000;
    const series = rateSeries(
      [request(500, 10, 20), request(9_000, 8, 10), request(9_500, 4, 30), request(9_999, 2, null), request(-1, 99, 1)],
      now,
      10_000,
      2_000,
    );
    expect(series).toHaveLength(5);
    expect(series.map((point) => point.at)).toEqual([0, 2000, 4000, 6000, 8000]);
    expect(series[0]).toEqual({ at: 0, requestsPerSecond: 0.5, tokensPerSecond: 5, ttftMs: 20 });
    expect(series[1]!.ttftMs).toBeNull();
    expect(series[4]).toEqual({ at: 8000, requestsPerSecond: 1.5, tokensPerSecond: 7, ttftMs: 20 });
  });
});

describe('hardwareShare', () => {
  it('splits tokens into CPU, GPU and upstream, and the GPU fraction of local work', () => {
    const share = hardwareShare([request(1, 9, 1, 'cpu'), request(2, 29, 1, 'cuda'), request(3, 99, 1, null)]);
    expect(share).toEqual({ cpu: 10, gpu: 30, upstream: 100, gpuFraction: 0.75 });
    expect(hardwareShare([]).gpuFraction).toBeNull();
  });
});

describe('usageBars', () => {
  const rows: UsageRow[] = [
    { model: 'a', day: '2026-01-02', key_id: 'key_1', requests: 2, prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, compute_seconds: 0, cost_usd: 0 },
    { model: 'b', day: '2026-01-02', key_id: null, requests: 5, prompt_tokens: 1, completion_tokens: 1, total_tokens: 9, compute_seconds: 0, cost_usd: 0 },
    { model: 'a', day: '2026-01-04', key_id: 'key_1', requests: 1, prompt_tokens: 1, completion_tokens: 1, total_tokens: 4, compute_seconds: 0, cost_usd: 0 },
  ];
  it('names the device class of what no hardware served by its status, not as an upstream', () => {
    const base = { requests: 1, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, compute_seconds: 0, cost_usd: 0 };
    const classes: UsageRow[] = [
      { ...base, device_class: 'cpu', status: 'served', requests: 4 },
      { ...base, device_class: null, status: 'served', requests: 3 },
      { ...base, device_class: null, status: 'refused', requests: 2 },
      { ...base, device_class: null, status: 'cancelled' },
      { ...base, device_class: null },
    ];
    expect(usageBars(classes, 'device_class', 'requests')).toEqual([
      { label: 'cpu', value: 4 },
      { label: 'upstream', value: 4 },
      { label: 'refused', value: 2 },
      { label: 'cancelled', value: 1 },
    ]);
  });
  it('sums by a dimension, largest first', () => {
    expect(usageBars(rows, 'model', 'requests')).toEqual([
      { label: 'b', value: 5 },
      { label: 'a', value: 3 },
    ]);
    expect(usageBars(rows, 'key', 'total_tokens')).toEqual([
      { label: 'local mode', value: 9 },
      { label: 'key_1', value: 6 },
    ]);
  });
  it('lays days out in calendar order with empty days as zero', () => {
    expect(usageBars(rows, 'day', 'requests', { start: '2026-01-01', end: '2026-01-04' }).map((bar) => bar.value)).toEqual([0, 7, 0, 1]);
    expect(daysBetween('2026-02-27', '2026-03-01')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
  });
});

describe('linePath and niceMax', () => {
  it('draws points scaled to the box, with gaps for nulls', () => {
    expect(linePath([0, 5, null, 10], 30, 10, 10)).toBe('M0,10L10,5M30,0');
    expect(linePath([], 30, 10, 10)).toBe('');
  });
  it('rounds axis maxima up to 1, 2 or 5 times a power of ten', () => {
    expect([0, 0.3, 3, 7, 12, 100].map(niceMax)).toEqual([1, 0.5, 5, 10, 20, 100]);
  });
});
