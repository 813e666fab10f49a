/**
 * Which control-plane processes sharing a Redis are alive, and giving back what dead ones held.
 * Each process renews a liveness key (`process:ID`, lapsing after `livenessMs`) every `beatMs`
 * and lists the tenants it reserved for (`process:ID:tenants`); every process, on each beat and
 * once at start, looks for registered processes whose liveness key lapsed and sweeps their lease
 * records: their concurrency leases and unsettled reservations are released. A process killed
 * with SIGKILL is therefore swept within livenessMs + beatMs (12 s by default), instead of
 * holding its leases until they lapse (`tenancy.concurrencyLeaseMs`, an hour). Nothing here is
 * on a request's path: a tenant is registered once per process, the rest runs on a timer.
 */
import type { Redis } from 'ioredis';

/** Timing and reporting of the registry. */
export interface ProcessRegistryOptions {
  /** How often this process renews its liveness and sweeps dead processes. */
  beatMs: number;
  /** How long a liveness key outlives its last renewal: a process silent this long is swept. */
  livenessMs: number;
  /** Told how many leases of a dead process were released. */
  onSweep?: (processId: string, leases: number) => void;
  /** Told when a beat or a sweep failed (Redis away); the next beat tries again. */
  onError?: (error: unknown) => void;
}

/** Runs the sweep script on one lease record; answers how many leases it released. */
export type SweepRecord = (recordKey: string) => Promise<number>;

export class ProcessRegistry {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private readonly tenants = new Set<string>();

  constructor(
    private readonly redis: Redis,
    /** Prefix of every key (the installation's namespace). */
    private readonly namespace: string,
    readonly processId: string,
    private readonly sweepRecord: SweepRecord,
    private readonly options: ProcessRegistryOptions,
  ) {}

  /** The lease record of this process for one tenant: in the tenant's slot, beside its counters. */
  recordKey(tenantId: string, processId = this.processId): string {
    return `${this.namespace}{${tenantId}}:leases:${processId}`;
  }

  /** Registers this process, sweeps the dead at once, then beats on a timer. */
  async start(): Promise<void> {
    await this.register();
    this.timer = setInterval(() => void this.beat(), this.options.beatMs);
    this.timer.unref();
    void this.beat();
  }

  /**
   * Lists a tenant this process reserves for, before its first reservation: issued on the same
   * connection ahead of the reservation, so Redis has it first. Once per tenant and process.
   */
  noteTenant(tenantId: string): void {
    if (this.tenants.has(tenantId)) return;
    this.tenants.add(tenantId);
    this.redis.sadd(this.tenantsKey(this.processId), tenantId).catch((error: unknown) => this.options.onError?.(error));
  }

  /** Stops beating and gives back what this process still holds (requests that never settled), then leaves the registry. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.sweepProcess(this.processId, false);
  }

  private async register(): Promise<void> {
    await this.redis.set(this.aliveKey(this.processId), String(Date.now()), 'PX', this.options.livenessMs);
    await this.redis.sadd(this.processesKey(), this.processId);
    if (this.tenants.size > 0) await this.redis.sadd(this.tenantsKey(this.processId), ...this.tenants);
  }

  /** One beat: renew (or, where a survivor took this process for dead, register again), then sweep the dead. */
  private beat(): Promise<void> {
    this.beating ??= (async () => {
      try {
        const renewed = await this.redis.set(this.aliveKey(this.processId), String(Date.now()), 'PX', this.options.livenessMs, 'XX');
        if (renewed === null) await this.register();
        for (const processId of await this.redis.smembers(this.processesKey())) {
          if (processId !== this.processId && (await this.redis.exists(this.aliveKey(processId))) === 0) await this.sweepProcess(processId, true);
        }
      } catch (error) {
        this.options.onError?.(error);
      } finally {
        this.beating = undefined;
      }
    })();
    return this.beating;
  }

  /** Releases every lease record of a process and drops it from the registry; a dead one is claimed first, so one survivor sweeps it. */
  private async sweepProcess(processId: string, dead: boolean): Promise<void> {
    if (dead && (await this.redis.set(`${this.namespace}process:${processId}:sweeping`, this.processId, 'PX', 30_000, 'NX')) === null) return;
    let released = 0;
    for (const tenantId of await this.redis.smembers(this.tenantsKey(processId))) released += await this.sweepRecord(this.recordKey(tenantId, processId));
    await this.redis.del(this.tenantsKey(processId), this.aliveKey(processId));
    await this.redis.srem(this.processesKey(), processId);
    if (dead || released > 0) this.options.onSweep?.(processId, released);
  }

  private processesKey(): string {
    return `${this.namespace}processes`;
  }

  private aliveKey(processId: string): string {
    return `${this.namespace}process:${processId}`;
  }

  private tenantsKey(processId: string): string {
    return `${this.namespace}process:${processId}:tenants`;
  }
}
