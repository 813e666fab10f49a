/**
 * Twins in memory, persisted behind: telemetry changes a twin at once and is written to the store
 * in batches (every `flushIntervalMs`, one transaction), with a history row per change. Retained
 * reported state on the broker restores anything a crash lost between two flushes.
 *
 * Several control planes each see every device message and number it alike (the same twin, the
 * same messages in the broker's order), so the store keeps one history row per device, version,
 * kind and ordinal, and a twin only over an older version. A control plane that finds a newer or
 * different twin stored than its own (it missed a message, or started late) takes the stored one,
 * so its numbering joins the others' (decision 0023).
 */
import type { Clock } from '../core/clock.js';
import type { ConnectionState, DeviceStore, TwinHistoryEntry, TwinRecord } from '../core/device-store.js';
import { canonicalJson } from './canonical-json.js';
import { applyConnection, applyDesired, applyReported, emptyTwin, type TwinChange } from './twin.js';

/** An event a device sent, as kept for the live-state tool. */
export interface RecentEvent {
  name: string;
  data: unknown;
  at: number;
}

const keptEvents = 5;
const keptCommandIds = 10_000;
const key = (tenantId: string, deviceId: string): string => `${tenantId}\u0000${deviceId}`;

export class TwinBook {
  private readonly twins = new Map<string, TwinRecord>();
  private readonly events = new Map<string, RecentEvent[]>();
  /** Commands whose desired values are recorded, oldest first (a bounded set). */
  private readonly desiredBy = new Set<string>();
  /** Per device, the version its last event arrived at and how many events arrived at it. */
  private readonly eventCounts = new Map<string, { version: number; count: number }>();
  private dirty = new Set<string>();
  private history: TwinHistoryEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Messages applied since start, for the ingest benchmark and metrics. */
  applied = 0;

  constructor(
    private readonly store: DeviceStore,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly flushIntervalMs = 50,
    /** Called with the twin after every change (the live feed); does nothing by default. */
    private readonly onChange: (twin: TwinRecord) => void = () => undefined,
  ) {}

  /** Loads every persisted twin. */
  async load(): Promise<void> {
    for (const twin of await this.store.listTwins()) this.twins.set(key(twin.tenantId, twin.deviceId), twin);
  }

  /** The twin of a device (empty if it never reported). */
  get(tenantId: string, deviceId: string): TwinRecord {
    return this.twins.get(key(tenantId, deviceId)) ?? emptyTwin(tenantId, deviceId, this.clock.now());
  }

  /** Every twin in memory. */
  list(): TwinRecord[] {
    return [...this.twins.values()];
  }

  /** Events the device sent lately, oldest first. */
  recentEvents(tenantId: string, deviceId: string): RecentEvent[] {
    return this.events.get(key(tenantId, deviceId)) ?? [];
  }

  report(tenantId: string, deviceId: string, values: Record<string, unknown>): TwinChange {
    this.applied += 1;
    return this.apply(tenantId, deviceId, 'reported', (twin, at) => applyReported(twin, values, at));
  }

  desire(tenantId: string, deviceId: string, values: Record<string, unknown>): TwinChange {
    return this.apply(tenantId, deviceId, 'desired', (twin, at) => applyDesired(twin, values, at));
  }

  connection(tenantId: string, deviceId: string, state: ConnectionState): TwinChange {
    return this.apply(tenantId, deviceId, 'connection', (twin, at) => applyConnection(twin, state, at));
  }

  /**
   * Records the desired values of a `set` command once, whether the transport shows it (every
   * control plane sees it there, in order with the device's messages) before or after it is sent.
   */
  desireOnce(commandId: string, tenantId: string, deviceId: string, values: Record<string, unknown>): void {
    if (this.desiredBy.has(commandId)) return;
    this.desiredBy.add(commandId);
    if (this.desiredBy.size > keptCommandIds) this.desiredBy.delete(this.desiredBy.values().next().value!);
    this.desire(tenantId, deviceId, values);
  }

  /** Records an event in the history and the recent list. */
  event(tenantId: string, deviceId: string, name: string, data: unknown): void {
    const at = this.clock.now();
    const list = this.events.get(key(tenantId, deviceId)) ?? [];
    list.push({ name, data, at });
    if (list.length > keptEvents) list.shift();
    this.events.set(key(tenantId, deviceId), list);
    const version = this.get(tenantId, deviceId).version;
    const counted = this.eventCounts.get(key(tenantId, deviceId));
    const ordinal = counted?.version === version ? counted.count : 0;
    this.eventCounts.set(key(tenantId, deviceId), { version, count: ordinal + 1 });
    this.history.push({ tenantId, deviceId, version, ...(ordinal > 0 ? { ordinal } : {}), at, kind: 'event', data: { name, data } });
    this.schedule();
  }

  /** Forgets a device (the store deletes its rows). */
  forget(tenantId: string, deviceId: string): void {
    this.twins.delete(key(tenantId, deviceId));
    this.events.delete(key(tenantId, deviceId));
    this.eventCounts.delete(key(tenantId, deviceId));
    this.dirty.delete(key(tenantId, deviceId));
    this.history = this.history.filter((entry) => entry.tenantId !== tenantId || entry.deviceId !== deviceId);
  }

  /** Writes what changed since the last flush. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const twins = [...this.dirty].map((name) => this.twins.get(name)).filter((twin): twin is TwinRecord => twin !== undefined);
    const history = this.history;
    this.dirty = new Set();
    this.history = [];
    // A failed write is reported to its caller but must not block the writes after it.
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        const stored = await this.store.putTwins(twins);
        await this.store.appendTwinHistory(history);
        for (const twin of stored) this.adopt(twin);
      });
    return this.writing;
  }

  /**
   * Takes a twin the store kept over this control plane's write, when it is as new as or newer
   * than the one in memory and differs from it: another control plane numbered further.
   */
  private adopt(stored: TwinRecord): void {
    const name = key(stored.tenantId, stored.deviceId);
    const mine = this.twins.get(name);
    if (!mine || stored.version < mine.version || sameState(stored, mine)) return;
    this.twins.set(name, stored);
    this.onChange(stored);
  }

  private apply(tenantId: string, deviceId: string, kind: TwinHistoryEntry['kind'], change: (twin: TwinRecord, at: number) => TwinChange): TwinChange {
    const at = this.clock.now();
    const result = change(this.get(tenantId, deviceId), at);
    this.twins.set(key(tenantId, deviceId), result.twin);
    if (Object.keys(result.changed).length > 0) {
      this.history.push({ tenantId, deviceId, version: result.twin.version, at, kind, data: result.changed });
      this.dirty.add(key(tenantId, deviceId));
      this.schedule();
      this.onChange(result.twin);
    } else if (kind === 'reported') this.dirty.add(key(tenantId, deviceId));
    return result;
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), this.flushIntervalMs);
  }
}

/** Whether two twins hold the same version and state (timestamps aside). */
function sameState(a: TwinRecord, b: TwinRecord): boolean {
  return (
    a.version === b.version &&
    a.connection === b.connection &&
    canonicalJson(a.reported) === canonicalJson(b.reported) &&
    canonicalJson(a.desired) === canonicalJson(b.desired)
  );
}
