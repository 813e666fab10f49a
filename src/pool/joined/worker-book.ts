/**
 * What this control plane knows of the joined workers beyond the store: each worker's heartbeats
 * (`WorkerHealth`, on the injected clock) and which replicas loaded. Other control planes on the
 * same store write heartbeats and replica states there; `sync` takes them in (a heartbeat younger
 * than the silence limit counts as a beat here), so workers may beat any of them.
 */
import { WorkerHealth, defaultHeartbeatPolicy, type HeartbeatPolicy, type WorkerLoad, type WorkerState } from '../../cluster/index.js';
import type { Clock } from '../../core/clock.js';
import type { PoolReplicaRecord, WorkerRecord } from '../../core/pool-store.js';

/** Heartbeats and loaded replicas of the joined workers. */
export class WorkerBook {
  readonly heartbeatIntervalMs: number;
  private readonly health: WorkerHealth;
  private readonly silenceLimitMs: number;
  /** The newest heartbeat time of each worker taken into `health`. */
  private readonly lastSeen = new Map<string, number>();
  /** Replicas their worker reported loaded and serving, and the worker of each. */
  private readonly ready = new Map<string, string>();
  /** Each worker's last verdict as `changes` reported it: true for lost. */
  private readonly verdicts = new Map<string, boolean>();
  /** Silence after which requests on a worker move elsewhere: two heartbeats. */
  readonly stallMs: number;

  constructor(
    private readonly clock: Clock,
    policy: Partial<HeartbeatPolicy> = {},
  ) {
    this.health = new WorkerHealth(clock, policy);
    this.heartbeatIntervalMs = policy.intervalMs ?? defaultHeartbeatPolicy.intervalMs;
    this.silenceLimitMs = this.heartbeatIntervalMs * (policy.missedBeats ?? defaultHeartbeatPolicy.missedBeats);
    this.stallMs = Math.min(this.silenceLimitMs, 2 * this.heartbeatIntervalMs);
  }

  /** Known workers get the grace of a fresh heartbeat (a restarted control plane must not declare them all lost). */
  load(workers: readonly WorkerRecord[], replicas: readonly PoolReplicaRecord[]): void {
    for (const worker of workers) {
      this.health.beat(worker.name, worker.load);
      this.lastSeen.set(worker.name, worker.lastHeartbeatAt);
    }
    for (const replica of replicas) if (replica.state === 'ready') this.ready.set(replica.id, replica.worker);
  }

  /** A heartbeat received here at `at`. */
  beat(name: string, load: WorkerLoad, at: number): void {
    this.health.beat(name, load);
    this.lastSeen.set(name, at);
  }

  /** Forgets a worker that left. */
  forget(name: string): void {
    this.health.remove(name);
    for (const [id, worker] of [...this.ready]) if (worker === name) this.ready.delete(id);
  }

  /** The heartbeat verdict; undefined for a worker never heard from. */
  stateOf(name: string): WorkerState | undefined {
    return this.health.state(name);
  }

  /** Milliseconds since its last heartbeat, as this process saw it. */
  silentMs(name: string): number | undefined {
    return this.health.silentMs(name);
  }

  /** Whether a loaded replica's worker has been silent for two heartbeats or more: its requests should move. */
  stalled(id: string): boolean {
    const worker = this.ready.get(id);
    if (worker === undefined) return false;
    return (this.health.silentMs(worker) ?? Infinity) >= this.stallMs;
  }

  /**
   * Workers whose verdict changed since the last call: lost (silent past the limit) or back. A
   * worker seen for the first time is neither.
   */
  changes(names: readonly string[]): Array<{ name: string; state: 'lost' | 'back'; silentMs: number }> {
    const changes: Array<{ name: string; state: 'lost' | 'back'; silentMs: number }> = [];
    for (const name of names) {
      const lost = (this.health.state(name) ?? 'unreachable') === 'unreachable';
      const before = this.verdicts.get(name);
      this.verdicts.set(name, lost);
      if (before !== undefined && before !== lost) changes.push({ name, state: lost ? 'lost' : 'back', silentMs: this.health.silentMs(name) ?? 0 });
    }
    for (const name of [...this.verdicts.keys()]) if (!names.includes(name)) this.verdicts.delete(name);
    return changes;
  }

  setReady(replica: Pick<PoolReplicaRecord, 'id' | 'worker'>, ready: boolean): void {
    if (ready) this.ready.set(replica.id, replica.worker);
    else this.ready.delete(replica.id);
  }

  unready(id: string): void {
    this.ready.delete(id);
  }

  isReady(id: string): boolean {
    return this.ready.has(id);
  }

  /** Whether a replica takes requests now: loaded, and its worker beating. */
  serves(id: string): boolean {
    const worker = this.ready.get(id);
    if (worker === undefined) return false;
    const state = this.health.state(worker);
    return state === 'ready' || state === 'draining';
  }

  /** Takes in what another control plane on the same store recorded: heartbeats it received, replicas reported ready. */
  sync(workers: readonly WorkerRecord[], replicas: readonly PoolReplicaRecord[]): void {
    for (const worker of workers) {
      if (worker.lastHeartbeatAt <= (this.lastSeen.get(worker.name) ?? -Infinity)) continue;
      this.lastSeen.set(worker.name, worker.lastHeartbeatAt);
      if (this.clock.now() - worker.lastHeartbeatAt < this.silenceLimitMs) this.health.beat(worker.name, worker.load);
    }
    for (const replica of replicas) this.setReady(replica, replica.state === 'ready');
  }
}
