/**
 * Which workers are alive, from their heartbeats alone: a worker that misses
 * `missedBeats` intervals in a row is unreachable until it beats again. Drained workers stay
 * alive but take no new replicas. The clock is injected, so tests move time by hand.
 */
import type { Clock } from '../core/clock.js';
import type { WorkerState } from './pool-snapshot.js';

/** Load a worker reports with each heartbeat. */
export interface WorkerLoad {
  /** Sequences generating now, over all its replicas. */
  activeSequences: number;
  /** Requests waiting for a slot. */
  queueDepth: number;
  /** Tokens generated per second over the last interval. */
  tokensPerSecond: number;
  /** Bytes its models hold, RAM and GPU together. */
  memoryInUseBytes: number;
}

/** Timing of heartbeats; merged over `defaultHeartbeatPolicy`. */
export interface HeartbeatPolicy {
  /** How often a worker beats. */
  intervalMs: number;
  /** Intervals missed in a row before the worker is unreachable. */
  missedBeats: number;
}

/** A beat every 5 s, unreachable after 3 missed (15 s): between LocalAI's 10 s and GPUStack's 30 s. */
export const defaultHeartbeatPolicy: HeartbeatPolicy = { intervalMs: 5000, missedBeats: 3 };

/** A worker's health as the control plane sees it now. */
export interface WorkerHealthReport {
  name: string;
  state: WorkerState;
  /** Milliseconds since its last heartbeat. */
  silentMs: number;
  load: WorkerLoad;
}

/** Heartbeat book of the pool. */
export class WorkerHealth {
  private readonly policy: HeartbeatPolicy;
  private readonly workers = new Map<string, { lastBeat: number; load: WorkerLoad; draining: boolean }>();

  constructor(
    private readonly clock: Clock,
    policy: Partial<HeartbeatPolicy> = {},
  ) {
    this.policy = { ...defaultHeartbeatPolicy, ...policy } satisfies HeartbeatPolicy;
  }

  /** Records a heartbeat (the first one registers the worker). */
  beat(name: string, load: WorkerLoad): void {
    const known = this.workers.get(name);
    this.workers.set(name, { lastBeat: this.clock.monotonic(), load, draining: known?.draining ?? false });
  }

  /** Stops new replicas going to a worker (`nimbus workers drain NAME`); false for an unknown worker. */
  drain(name: string, draining = true): boolean {
    const worker = this.workers.get(name);
    if (!worker) return false;
    worker.draining = draining;
    return true;
  }

  /** Forgets a worker that left on purpose. */
  remove(name: string): void {
    this.workers.delete(name);
  }

  /** The state of one worker; undefined for one never seen. */
  state(name: string): WorkerState | undefined {
    const worker = this.workers.get(name);
    if (!worker) return undefined;
    if (this.clock.monotonic() - worker.lastBeat > this.policy.intervalMs * this.policy.missedBeats) return 'unreachable';
    return worker.draining ? 'draining' : 'ready';
  }

  /** Milliseconds since a worker's last heartbeat; undefined for one never seen. */
  silentMs(name: string): number | undefined {
    const worker = this.workers.get(name);
    return worker ? this.clock.monotonic() - worker.lastBeat : undefined;
  }

  /** Every known worker, by name. */
  report(): WorkerHealthReport[] {
    const now = this.clock.monotonic();
    return [...this.workers.entries()]
      .map(([name, worker]) => ({ name, state: this.state(name)!, silentMs: now - worker.lastBeat, load: worker.load }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}
