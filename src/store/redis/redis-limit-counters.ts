/**
 * Limit counters in Redis, shared by every control-plane process (`NIMBUS_REDIS_URL`). Each
 * operation is one Lua script, so a reservation checks and adds to every counter of a request
 * atomically: two processes can never both take the last unit of a budget. Windows are plain
 * integer keys that expire with their window; concurrency is a sorted set of leases scored by
 * when they lapse, so a crashed process's leases free themselves.
 */
import { Redis } from 'ioredis';
import type { CounterAdjustment, CounterCheck, LimitCounters, ReserveResult } from '../../core/limit-counters.js';

/**
 * KEYS: counters. ARGV: now, lease, and one packed string `kind,limit,amount,expiresAt;...` per
 * key in order (kind w|c): one argument instead of four per key halves the client's cost per call.
 * Returns {ok, failed index (1-based), values...}. Integers travel as the strings they came in,
 * since Lua would print a large number as 1e+15.
 */
const reserveScript = `
local now = tonumber(ARGV[1])
local lease = ARGV[2]
local specs = {}
for kind, limit, amount, expires in string.gmatch(ARGV[3], '([wc]),([^,;]+),([^,;]+),([^,;]+)') do
  specs[#specs + 1] = {kind, tonumber(limit), amount, expires}
end
local values = {}
for i = 1, #KEYS do
  local spec = specs[i]
  local current
  if spec[1] == 'w' then
    current = tonumber(redis.call('GET', KEYS[i]) or '0')
  else
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    current = redis.call('ZCARD', KEYS[i])
  end
  values[i] = current
  if current + tonumber(spec[3]) > spec[2] then
    return {0, i, unpack(values)}
  end
end
for i = 1, #KEYS do
  local spec = specs[i]
  if spec[1] == 'w' then
    values[i] = redis.call('INCRBY', KEYS[i], spec[3])
    redis.call('PEXPIREAT', KEYS[i], spec[4])
  else
    redis.call('ZADD', KEYS[i], spec[4], lease)
    local latest = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
    redis.call('PEXPIREAT', KEYS[i], latest[2])
    values[i] = redis.call('ZCARD', KEYS[i])
  end
end
return {1, 0, unpack(values)}
`;

/** KEYS: window counters, then concurrency counters. ARGV: lease, number of window counters, their deltas packed as `d1,d2,...`. */
const settleScript = `
local windows = tonumber(ARGV[2])
local i = 0
for delta in string.gmatch(ARGV[3], '([^,]+)') do
  i = i + 1
  if i <= windows and redis.call('EXISTS', KEYS[i]) == 1 then redis.call('INCRBY', KEYS[i], delta) end
end
for j = windows + 1, #KEYS do redis.call('ZREM', KEYS[j], ARGV[1]) end
return 0
`;

/** KEYS: counters. ARGV: now. Windows read as integers, concurrency as live leases. */
const readScript = `
local values = {}
for i = 1, #KEYS do
  if redis.call('TYPE', KEYS[i])['ok'] == 'zset' then
    values[i] = redis.call('ZCOUNT', KEYS[i], '(' .. ARGV[1], '+inf')
  else
    values[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  end
end
return values
`;

/** The scripts by name; loaded once, then called by their sha1 (a reply of NOSCRIPT reloads them). */
const scripts = { reserve: reserveScript, settle: settleScript, read: readScript } as const;
type ScriptName = keyof typeof scripts;

export class RedisLimitCounters implements LimitCounters {
  private readonly redis: Redis;
  private closed = false;
  private readonly shas = new Map<ScriptName, string>();

  constructor(url: string) {
    // Fail fast when Redis is away: admission answers 503 rather than hanging requests on retries.
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 2000, enableAutoPipelining: true, lazyConnect: true });
    this.redis.on('error', () => undefined);
  }

  /** Connects now, so a wrong URL is reported at start rather than on the first request. */
  async connect(): Promise<void> {
    await this.redis.connect();
    await this.loadScripts();
  }

  async reserve(leaseId: string, checks: readonly CounterCheck[], now: number): Promise<ReserveResult> {
    if (checks.length === 0) return { ok: true, failed: -1, values: [] };
    const args: Array<string | number> = [];
    let packed = '';
    for (const check of checks) {
      args.push(check.key);
      packed += `${packed ? ';' : ''}${check.kind === 'window' ? 'w' : 'c'},${integer(check.limit)},${integer(check.amount)},${integer(check.expiresAt)}`;
    }
    args.push(now, leaseId, packed);
    const reply = (await this.run('reserve', checks.length, args)) as number[];
    const [ok, failed, ...values] = reply.map(Number);
    return { ok: ok === 1, failed: ok === 1 ? -1 : failed! - 1, values };
  }

  async settle(leaseId: string, adjustments: readonly CounterAdjustment[], concurrencyKeys: readonly string[]): Promise<void> {
    if (adjustments.length === 0 && concurrencyKeys.length === 0) return;
    const keys = [...adjustments.map((adjustment) => adjustment.key), ...concurrencyKeys];
    const deltas = adjustments.map((adjustment) => integer(adjustment.delta)).join(',');
    await this.run('settle', keys.length, [...keys, leaseId, adjustments.length, deltas]);
  }

  async seed(key: string, value: number, expiresAt: number): Promise<void> {
    await this.redis.set(key, Math.round(value), 'PXAT', expiresAt, 'NX');
  }

  async read(keys: readonly string[], now: number): Promise<number[]> {
    if (keys.length === 0) return [];
    return ((await this.run('read', keys.length, [...keys, now])) as number[]).map(Number);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private async loadScripts(): Promise<void> {
    for (const [name, lua] of Object.entries(scripts) as Array<[ScriptName, string]>) this.shas.set(name, (await this.redis.script('LOAD', lua)) as string);
  }

  /** EVALSHA, never the script text on the hot path; after a Redis restart (NOSCRIPT) the scripts are loaded again. */
  private async run(name: ScriptName, numberOfKeys: number, args: Array<string | number>): Promise<unknown> {
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

/** A whole number as Redis and the scripts read it (limits stay below 1e21, where JavaScript would print an exponent). */
function integer(value: number): string {
  return String(Math.round(value));
}
