/**
 * Limit counters in Redis, shared by every control-plane process (`NIMBUS_REDIS_URL`). Each
 * operation is one Lua script (limit-scripts.ts), so a reservation checks and adds to every
 * counter of a request atomically: two processes can never both take the last unit of a budget.
 * Windows are plain integer keys that expire with their window; concurrency is a sorted set of
 * leases scored by when they lapse. What each reservation took is recorded per process, and a
 * process that dies is swept by the survivors within seconds (process-registry.ts). Every key
 * starts with the installation's namespace, so installations sharing a Redis share nothing.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { CounterAdjustment, CounterCheck, LimitCounters, ReserveResult } from '../../core/limit-counters.js';
import { CounterSpecs, integer } from './counter-specs.js';
import { limitScripts, type LimitScriptName } from './limit-scripts.js';
import { ProcessRegistry } from './process-registry.js';

/** Where and how the counters live in Redis. */
export interface RedisLimitCountersOptions {
  /** Prefix of every key: `nimbus:INSTALLATION:`; empty when absent. */
  namespace?: string;
  /** How often this process says it is alive and sweeps the dead (3 s). */
  beatMs?: number;
  /** A process silent this long is taken for dead and its leases released (9 s). */
  livenessMs?: number;
  /** Told how many leases of a dead process were released. */
  onSweep?: (processId: string, leases: number) => void;
  /** Told when a beat failed (Redis away). */
  onError?: (error: unknown) => void;
}

export class RedisLimitCounters implements LimitCounters {
  private readonly redis: Redis;
  private closed = false;
  private readonly shas = new Map<LimitScriptName, string>();
  private readonly namespace: string;
  private readonly registry: ProcessRegistry;
  /** Hash tag (`{acme}`) -> this process's lease record key for its tenant. */
  private readonly records = new Map<string, string>();
  private readonly specs: CounterSpecs;

  constructor(url: string, options: RedisLimitCountersOptions = {}) {
    // Fail fast when Redis is away: admission answers 503 rather than hanging requests on retries.
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 2000, enableAutoPipelining: true, lazyConnect: true });
    this.redis.on('error', () => undefined);
    this.namespace = options.namespace ?? '';
    this.specs = new CounterSpecs(this.namespace);
    this.registry = new ProcessRegistry(this.redis, this.namespace, randomBytes(8).toString('hex'), (key) => this.sweepRecord(key), {
      beatMs: options.beatMs ?? 3000,
      livenessMs: options.livenessMs ?? 9000,
      ...(options.onSweep ? { onSweep: options.onSweep } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
    });
  }

  /** This process's id in the registry. */
  get processId(): string {
    return this.registry.processId;
  }

  /** Connects now, so a wrong URL is reported at start rather than on the first request; then joins the registry. */
  async connect(): Promise<void> {
    await this.redis.connect();
    await this.loadScripts();
    await this.registry.start();
  }

  async reserve(leaseId: string, checks: readonly CounterCheck[], now: number): Promise<ReserveResult> {
    if (checks.length === 0) return { ok: true, failed: -1, values: [] };
    const spec = this.specs.reserve(checks);
    // Per request only the amounts travel (a concurrency lease's expiry in its place).
    let amounts = '';
    for (let index = 0; index < checks.length; index += 1) {
      const check = checks[index]!;
      amounts += `${index === 0 ? '' : ','}${integer(check.kind === 'concurrency' ? check.expiresAt : check.amount)}`;
    }
    const reply = (await this.evalsha('reserve', checks.length + 1, [...spec.keys, this.recordKey(spec.tag), spec.packed, leaseId, now, amounts])) as number[];
    const ok = reply[0];
    const values = reply.slice(2);
    if (ok === 2) return { ok: false, failed: reply[1]! - 1, values, unseeded: true };
    return { ok: ok === 1, failed: ok === 1 ? -1 : reply[1]! - 1, values };
  }

  async settle(leaseId: string, adjustments: readonly CounterAdjustment[], concurrencyKeys: readonly string[]): Promise<void> {
    if (adjustments.length === 0 && concurrencyKeys.length === 0) return;
    const spec = this.specs.settle(adjustments, concurrencyKeys);
    let changes = '';
    for (let index = 0; index < adjustments.length; index += 1) {
      const adjustment = adjustments[index]!;
      changes += `${index === 0 ? '' : ','}${integer(adjustment.delta)}:${integer(adjustment.used)}`;
    }
    await this.evalsha('settle', spec.keys.length + 1, [...spec.keys, this.recordKey(spec.tag), leaseId, spec.windows, changes]);
  }

  async seed(key: string, value: number, expiresAt: number): Promise<void> {
    await this.redis.set(this.namespace + key, Math.round(value), 'PXAT', expiresAt, 'NX');
  }

  async clear(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.redis.del(...keys.map((key) => this.namespace + key));
  }

  async read(keys: readonly string[], now: number): Promise<number[]> {
    if (keys.length === 0) return [];
    return ((await this.evalsha('read', keys.length, [...keys.map((key) => this.namespace + key), now])) as number[]).map(Number);
  }

  /** Resolves when Redis answers a PING (readiness); rejects with why not. */
  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /** Gives back what this process still holds and leaves the registry, then disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.registry.stop().catch(() => undefined);
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /**
   * This process's lease record for the tenant of a hash tag (`{acme}`: every counter name starts
   * with its tenant's), registering the tenant the first time so a sweep after a crash finds it.
   */
  private recordKey(tag: string): string {
    let record = this.records.get(tag);
    if (record === undefined) {
      const tenantId = tag.slice(1, -1);
      this.registry.noteTenant(tenantId);
      this.records.set(tag, (record = this.registry.recordKey(tenantId)));
    }
    return record;
  }

  private async sweepRecord(recordKey: string): Promise<number> {
    return Number(await this.evalsha('sweep', 1, [recordKey]));
  }

  private async loadScripts(): Promise<void> {
    for (const [name, lua] of Object.entries(limitScripts) as Array<[LimitScriptName, string]>)
      this.shas.set(name, (await this.redis.script('LOAD', lua)) as string);
  }

  /** EVALSHA, never the script text on the hot path; after a Redis restart (NOSCRIPT) the scripts are loaded again. */
  private async evalsha(name: LimitScriptName, numberOfKeys: number, args: Array<string | number>): Promise<unknown> {
    if (!this.shas.has(name)) await this.loadScripts();
    try {
      return await this.redis.evalsha(this.shas.get(name)!, numberOfKeys, ...args);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      await this.loadScripts();
      return this.redis.evalsha(this.shas.get(name)!, numberOfKeys, ...args);
    }
  }
}
