/**
 * What the console knows live, fed by `/v1/events`: recent finished requests (for the charts),
 * twins by device, the emergency stop, model pulls (the operator's), and a counter per kind of change so pages refetch lists
 * (approvals, audit, alerts) when something changed rather than on a timer.
 */
import type { FeedStatus } from '../api/event-feed.js';
import type { AuditEntry, ModelPull, RequestEvent, Twin } from '../api/types.js';
import { laterPull } from '../models/pull-progress.js';

export interface LiveSnapshot {
  status: FeedStatus;
  requests: readonly RequestEvent[];
  twins: ReadonlyMap<string, Twin>;
  /** The emergency stop as the feed last reported it; undefined until a page read it or it changed. */
  estopActive: boolean | undefined;
  /** Latest audit entries (approvals, executions, denials), newest last. */
  audit: readonly AuditEntry[];
  /** Bumped whenever an approval was requested or decided. */
  approvalsVersion: number;
  /** Bumped whenever an alert fired or resolved. */
  alertsVersion: number;
  /** Model pulls by id, each at its latest report. */
  pulls: ReadonlyMap<string, ModelPull>;
}

const keptRequestsMs = 5 * 60_000;
const keptAudit = 200;

export class LiveStore {
  private snapshot: LiveSnapshot = {
    status: 'connecting',
    requests: [],
    twins: new Map(),
    estopActive: undefined,
    audit: [],
    approvalsVersion: 0,
    alertsVersion: 0,
    pulls: new Map(),
  };
  private readonly listeners = new Set<() => void>();
  private readonly auditWatchers = new Set<(entry: AuditEntry) => void>();

  constructor(private readonly now: () => number = Date.now) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  get = (): LiveSnapshot => this.snapshot;

  /** Calls `watcher` with every audit entry as it arrives (the playground's live tool activity). */
  watchAudit(watcher: (entry: AuditEntry) => void): () => void {
    this.auditWatchers.add(watcher);
    return () => this.auditWatchers.delete(watcher);
  }

  setStatus(status: FeedStatus): void {
    if (status !== this.snapshot.status) this.update({ status });
  }

  /** Sets what a page read over plain HTTP (twins, the emergency stop), so the feed only has to bring changes. */
  seedTwins(twins: readonly Twin[]): void {
    const next = new Map(this.snapshot.twins);
    for (const twin of twins) if ((next.get(twin.device)?.version ?? -1) <= twin.version) next.set(twin.device, twin);
    this.update({ twins: next });
  }

  seedEstop(active: boolean): void {
    this.update({ estopActive: active });
  }

  /** Applies the events of one chunk of the feed, telling listeners once (a replay brings hundreds). */
  receiveAll(events: ReadonlyArray<{ type: string; data: unknown }>): void {
    this.batching = true;
    try {
      for (const event of events) this.receive(event.type, event.data);
    } finally {
      this.batching = false;
    }
    if (this.pending) this.notify();
  }

  /** Applies one event of the feed. */
  receive(type: string, data: unknown): void {
    switch (type) {
      case 'request': {
        const request = data as RequestEvent;
        // A reconnected feed starts with the last minute again: keep one copy of each request.
        if (this.snapshot.requests.some((event) => event.id === request.id)) return;
        const cutoff = this.now() - keptRequestsMs;
        const kept = this.snapshot.requests.filter((event) => event.at >= cutoff);
        this.update({ requests: [...kept, request] });
        return;
      }
      case 'twin': {
        const twin = data as Twin;
        const current = this.snapshot.twins.get(twin.device);
        if (current && current.version > twin.version) return;
        this.update({ twins: new Map(this.snapshot.twins).set(twin.device, twin) });
        return;
      }
      case 'model_pull': {
        const pull = data as ModelPull;
        const latest = laterPull(this.snapshot.pulls.get(pull.id), pull);
        if (latest !== pull) return;
        this.update({ pulls: new Map(this.snapshot.pulls).set(pull.id, pull) });
        return;
      }
      case 'alert':
        this.update({ alertsVersion: this.snapshot.alertsVersion + 1 });
        return;
      case 'estop':
      case 'approval':
      case 'audit': {
        const entry = data as AuditEntry;
        const audit = [...this.snapshot.audit, entry].slice(-keptAudit);
        const change: Partial<LiveSnapshot> = { audit };
        if (type === 'estop') change.estopActive = entry.event === 'emergency_stop';
        if (type === 'approval') change.approvalsVersion = this.snapshot.approvalsVersion + 1;
        this.update(change);
        for (const watcher of this.auditWatchers) watcher(entry);
        return;
      }
      default:
        return;
    }
  }

  private batching = false;
  private pending = false;

  private update(change: Partial<LiveSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...change };
    if (this.batching) this.pending = true;
    else this.notify();
  }

  private notify(): void {
    this.pending = false;
    for (const listener of this.listeners) listener();
  }
}
