/**
 * Limit counters in this process: exact, and atomic because JavaScript runs one reservation at
 * a time. For one control-plane process; several share counters through Redis instead.
 */
import type { CounterAdjustment, CounterCheck, LimitCounters, ReserveResult } from '../core/limit-counters.js';

interface WindowCounter {
  value: number;
  expiresAt: number;
}

/** Expired counters are swept after this many reservations. */
const sweepEvery = 4096;

export class MemoryLimitCounters implements LimitCounters {
  private readonly windows = new Map<string, WindowCounter>();
  /** Concurrency counter -> lease id -> when the lease lapses. */
  private readonly leases = new Map<string, Map<string, number>>();
  private operations = 0;

  async reserve(leaseId: string, checks: readonly CounterCheck[], now: number): Promise<ReserveResult> {
    if (++this.operations % sweepEvery === 0) this.sweep(now);
    const values: number[] = [];
    for (let index = 0; index < checks.length; index += 1) {
      const check = checks[index]!;
      if (check.seed && !this.windowLive(check.key, now)) return { ok: false, failed: index, values, unseeded: true };
      const current = check.kind === 'window' ? this.windowValue(check.key, now) : this.liveLeases(check.key, now, check.limit);
      values.push(current);
      if (current + check.amount > check.limit) return { ok: false, failed: index, values };
    }
    for (let index = 0; index < checks.length; index += 1) {
      const check = checks[index]!;
      if (check.kind === 'window') {
        const counter = this.windows.get(check.key);
        if (counter && counter.expiresAt > now) counter.value += check.amount;
        else this.windows.set(check.key, { value: check.amount, expiresAt: check.expiresAt });
        values[index] = (values[index] ?? 0) + check.amount;
      } else {
        let held = this.leases.get(check.key);
        if (!held) this.leases.set(check.key, (held = new Map()));
        held.set(leaseId, check.expiresAt);
        values[index] = held.size;
      }
    }
    return { ok: true, failed: -1, values };
  }

  async settle(leaseId: string, adjustments: readonly CounterAdjustment[], concurrencyKeys: readonly string[]): Promise<void> {
    for (const adjustment of adjustments) {
      if (adjustment.delta === 0) continue;
      const counter = this.windows.get(adjustment.key);
      if (counter) counter.value += adjustment.delta;
    }
    for (const key of concurrencyKeys) this.leases.get(key)?.delete(leaseId);
  }

  async seed(key: string, value: number, expiresAt: number): Promise<void> {
    if (!this.windows.has(key)) this.windows.set(key, { value, expiresAt });
  }

  async clear(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.windows.delete(key);
  }

  async read(keys: readonly string[], now: number): Promise<number[]> {
    return keys.map((key) => (this.leases.has(key) ? this.liveLeases(key, now) : this.windowValue(key, now)));
  }

  async close(): Promise<void> {}

  private windowLive(key: string, now: number): boolean {
    const counter = this.windows.get(key);
    return counter !== undefined && counter.expiresAt > now;
  }

  private windowValue(key: string, now: number): number {
    const counter = this.windows.get(key);
    return counter && counter.expiresAt > now ? counter.value : 0;
  }

  /** Leases held on `key`; lapsed ones are dropped only when they could matter (at `limit`), so the usual call is O(1). */
  private liveLeases(key: string, now: number, limit = 0): number {
    const held = this.leases.get(key);
    if (!held) return 0;
    if (held.size < limit) return held.size;
    for (const [lease, expiresAt] of held) if (expiresAt <= now) held.delete(lease);
    return held.size;
  }

  private sweep(now: number): void {
    for (const [key, counter] of this.windows) if (counter.expiresAt <= now) this.windows.delete(key);
    for (const [key, held] of this.leases) {
      for (const [lease, expiresAt] of held) if (expiresAt <= now) held.delete(lease);
      if (held.size === 0) this.leases.delete(key);
    }
  }
}
