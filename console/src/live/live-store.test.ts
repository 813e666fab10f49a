import { describe, expect, it } from 'vitest';
import type { Twin } from '../api/types.js';
import { LiveStore } from './live-store.js';

const twin = (version: number, locked: boolean): Twin => ({
  device: 'sim-lock-1',
  version,
  connection: 'online',
  desired: {},
  reported: { locked },
  delta: {},
  reported_at: 1,
  updated_at: 1,
});

describe('LiveStore', () => {
  it('keeps the newest twin version, even when an older one arrives late', () => {
    const store = new LiveStore(() => 0);
    store.receive('twin', twin(3, false));
    store.receive('twin', twin(2, true));
    expect(store.get().twins.get('sim-lock-1')?.reported).toEqual({ locked: false });
    store.seedTwins([twin(1, true)]);
    expect(store.get().twins.get('sim-lock-1')?.version).toBe(3);
  });

  it('keeps each model pull at its latest report, even when an older one arrives late', () => {
    const store = new LiveStore(() => 0);
    const pull = { id: 'pull_a', ref: 'hf:o/r/f.gguf', state: 'downloading', bytes: 10, total: 100, error: null, created_at: 1, finished_at: null };
    store.receive('model_pull', { ...pull, bytes: 60 });
    store.receive('model_pull', pull);
    expect(store.get().pulls.get('pull_a')?.bytes).toBe(60);
    store.receive('model_pull', { ...pull, state: 'done', bytes: 100 });
    expect(store.get().pulls.get('pull_a')?.state).toBe('done');
  });

  it('follows the emergency stop and counts approval changes, telling audit watchers', () => {
    const store = new LiveStore(() => 0);
    const seen: string[] = [];
    store.watchAudit((entry) => seen.push(entry.event));
    let notified = 0;
    store.subscribe(() => (notified += 1));
    store.receive('estop', { id: 'a', event: 'emergency_stop' });
    expect(store.get().estopActive).toBe(true);
    store.receive('approval', { id: 'b', event: 'approval_requested' });
    store.receive('estop', { id: 'c', event: 'emergency_clear' });
    expect(store.get().estopActive).toBe(false);
    expect(store.get().approvalsVersion).toBe(1);
    expect(seen).toEqual(['emergency_stop', 'approval_requested', 'emergency_clear']);
    expect(notified).toBe(3);
  });

  it('counts alert transitions (the indicator and the Alerts page reload on them), never as audit entries', () => {
    const store = new LiveStore(() => 0);
    store.receive('alert', { id: 'worker_lost:w1', state: 'firing', change: 'fired' });
    store.receive('alert', { id: 'worker_lost:w1', state: 'resolved', change: 'resolved' });
    expect(store.get().alertsVersion).toBe(2);
    expect(store.get().audit).toEqual([]);
  });

  it('keeps five minutes of requests, one copy of each when a reconnected feed replays them', () => {
    let now = 0;
    const store = new LiveStore(() => now);
    store.receive('request', { id: 'a', at: 0 });
    now = 6 * 60_000;
    store.receive('request', { id: 'b', at: now });
    store.receive('request', { id: 'b', at: now });
    expect(store.get().requests.map((event) => event.id)).toEqual(['b']);
  });

  it('applies a chunk of events with one notification', () => {
    const store = new LiveStore(() => 0);
    let notified = 0;
    store.subscribe(() => (notified += 1));
    store.receiveAll([
      { type: 'request', data: { id: 'a', at: 0 } },
      { type: 'request', data: { id: 'b', at: 0 } },
      { type: 'twin', data: twin(1, true) },
    ]);
    expect(notified).toBe(1);
    expect(store.get().requests).toHaveLength(2);
    store.receiveAll([]);
    expect(notified).toBe(1);
  });
});
