/**
 * Twins in memory, persisted behind: telemetry changes a twin at once and is written to the store
 * in batches (every `flushIntervalMs`, one transaction), with a history row per change. Retained
 * reported state on the broker restores anything a crash lost between two flushes.
 */
import type { Clock } from '../core/clock.js';
import type { ConnectionState, DeviceStore, TwinHistoryEntry, TwinRecord } from '../core/device-store.js';
import { applyConnection, applyDesired, applyReported, emptyTwin, type TwinChange } from './twin.js';

/** An event a device sent, as kept for the live-state tool. */
export interface RecentEvent {
  name: string;
  data: unknown;
  at: number;
}

const keptEvents = 5;
const key = (tenantId: string, deviceId: string): string => `${tenantId}\u0000${deviceId}`;

export class TwinBook {
  private readonly twins = new Map<string, TwinRecord>();
  private readonly events = new Map<string, RecentEvent[]>();
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

  /** Records an event in the history and the recent list. */
  event(tenantId: string, deviceId: string, name: string, data: unknown): void {
    const at = this.clock.now();
    const list = this.events.get(key(tenantId, deviceId)) ?? [];
    list.push({ name, data, at });
    if (list.length > keptEvents) list.shift();
    this.events.set(key(tenantId, deviceId), list);
    this.history.push({ tenantId, deviceId, version: this.get(tenantId, deviceId).version, at, kind: 'event', data: { name, data } });
    this.schedule();
  }

  /** Forgets a device (the store deletes its rows). */
  forget(tenantId: string, deviceId: string): void {
    this.twins.delete(key(tenantId, deviceId));
    this.events.delete(key(tenantId, deviceId));
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
        await this.store.putTwins(twins);
        await this.store.appendTwinHistory(history);
      });
    return this.writing;
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
