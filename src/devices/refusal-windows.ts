/**
 * Refusals past a per-key rate are folded, never dropped. Each key (a tenant's API key, or the
 * local operator) gets `perWindow` refusals written as entries of their own per window of
 * `windowMs`; the refusals after that, until the window ends, are counted into one aggregate
 * (how many, first and last time, a running sha256 of their full entries, which events, reasons
 * and devices) that the audit log writes as one `refusals_aggregated` entry when the window
 * ends. So a flood of refused requests costs the log at most `perWindow + 1` entries a window
 * per key, and the log still says how many there were. Pure logic: the clock is the caller's.
 */
import type { AuditEvent } from '../core/device-store.js';
import type { AuditContext } from './audit-log.js';
import { sha256 } from './canonical-json.js';

/** How many refusals of one key are written one by one per window. */
export interface RefusalRate {
  perWindow: number;
  windowMs: number;
}

/** 20 refusals a minute per key are written in full; more are counted. */
export const defaultRefusalRate: RefusalRate = { perWindow: 20, windowMs: 60_000 };

/** The most device ids an aggregate names (it counts the rest). */
const maxDevices = 20;

/** Refusals of one key folded in one window. */
export interface RefusalAggregate {
  context: AuditContext;
  windowStart: number;
  windowMs: number;
  count: number;
  firstAt: number;
  lastAt: number;
  /** sha256 chained over the canonical JSON of every folded entry, in order: `h = sha256(h + "\n" + entry)`, from `''`. */
  inputsSha256: string;
  /** Characters of canonical JSON folded (what the entries would have stored, before bounds). */
  inputChars: number;
  events: Partial<Record<AuditEvent, number>>;
  reasons: Record<string, number>;
  devices: string[];
  otherDevices: number;
}

interface Window {
  start: number;
  written: number;
  folded: RefusalAggregate | undefined;
}

export class RefusalWindows {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly rate: RefusalRate) {}

  /**
   * Admits one refusal of `key` at `now`: true when it is to be written in full. Otherwise it is
   * folded (`fold`). A window that ended hands back its aggregate through `ended`.
   */
  admit(key: string, now: number, ended: (aggregate: RefusalAggregate) => void): boolean {
    let window = this.windows.get(key);
    if (window && now >= window.start + this.rate.windowMs) {
      if (window.folded) ended(window.folded);
      window = undefined;
    }
    if (!window) {
      window = { start: now, written: 0, folded: undefined };
      this.windows.set(key, window);
    }
    if (window.written < this.rate.perWindow) {
      window.written += 1;
      return true;
    }
    return false;
  }

  /**
   * Counts one refusal that `admit` did not let through: `entries` are its would-be entries in
   * canonical JSON, with their events, reasons and device. Returns the aggregate when this refusal
   * started it (the caller arranges for it to be written at the window's end).
   */
  fold(
    key: string,
    context: AuditContext,
    now: number,
    entries: ReadonlyArray<{ event: AuditEvent; json: string; reason: string | undefined; deviceId: string | null }>,
  ): RefusalAggregate | undefined {
    const window = this.windows.get(key)!;
    const started = window.folded === undefined;
    const aggregate = (window.folded ??= {
      context: { ...context, model: null, conversation: null },
      windowStart: window.start,
      windowMs: this.rate.windowMs,
      count: 0,
      firstAt: now,
      lastAt: now,
      inputsSha256: '',
      inputChars: 0,
      events: {},
      reasons: {},
      devices: [],
      otherDevices: 0,
    });
    aggregate.count += 1;
    aggregate.lastAt = now;
    for (const entry of entries) {
      aggregate.inputsSha256 = sha256(`${aggregate.inputsSha256}\n${entry.json}`);
      aggregate.inputChars += entry.json.length;
      aggregate.events[entry.event] = (aggregate.events[entry.event] ?? 0) + 1;
      if (entry.reason !== undefined) aggregate.reasons[entry.reason] = (aggregate.reasons[entry.reason] ?? 0) + 1;
      if (entry.deviceId !== null && !aggregate.devices.includes(entry.deviceId)) {
        if (aggregate.devices.length < maxDevices) aggregate.devices.push(entry.deviceId);
        else aggregate.otherDevices += 1;
      }
    }
    return started ? aggregate : undefined;
  }

  /** Takes the aggregate of `key`'s window if it ended by `now` (or every one, when `now` is undefined: closing). */
  take(key: string, now?: number): RefusalAggregate | undefined {
    const window = this.windows.get(key);
    if (!window?.folded || (now !== undefined && now < window.start + this.rate.windowMs)) return undefined;
    const aggregate = window.folded;
    window.folded = undefined;
    if (now !== undefined) this.windows.delete(key);
    return aggregate;
  }

  /** Every key with an aggregate not yet taken. */
  keys(): string[] {
    return [...this.windows.entries()].filter(([, window]) => window.folded !== undefined).map(([key]) => key);
  }

  /** Forgets windows that ended before `now` with nothing folded (bounded memory). */
  sweep(now: number): void {
    for (const [key, window] of this.windows) if (!window.folded && now >= window.start + this.rate.windowMs) this.windows.delete(key);
  }
}
