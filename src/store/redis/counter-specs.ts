/**
 * What the reserve and settle scripts are told about a request's counters, built once per
 * distinct set of counters and reused: a key's requests name the same counters with the same
 * limits for a minute, so their names (with the namespace) and the packed kinds, limits and
 * window ends are made once, and a request adds only its amounts. Names travel as declared keys
 * (Redis reads them into the script in C; building them from a shared prefix in Lua cost more
 * on the server than they cost the client), the rest packed into one string each.
 */
import type { CounterAdjustment, CounterCheck } from '../../core/limit-counters.js';

/** A reservation's counters as the reserve script takes them. */
export interface ReserveSpec {
  /** The hash tag of the first counter (`{acme}`), which names the lease record (its tenant's). */
  readonly tag: string;
  /** The counters' names with the namespace: the script's keys, the lease record after them. */
  readonly keys: readonly string[];
  /** `kind,limit,expiresAt;` per counter: kind `w` window, `s` budget (must exist: seeded from the ledger), `c` concurrency; a window's end, 0 for concurrency. */
  readonly packed: string;
  readonly names: readonly string[];
  readonly kinds: readonly string[];
  readonly limits: readonly number[];
  readonly expires: readonly number[];
}

/** A settlement's counters as the settle script takes them: window counters, then concurrency counters. */
export interface SettleSpec {
  readonly tag: string;
  readonly keys: readonly string[];
  readonly names: readonly string[];
  readonly windows: number;
}

/** Specs cached at most; past it the cache starts again (a spec is rebuilt in microseconds). */
const maxCached = 10_000;

/** Builds and caches the specs of one namespace. */
export class CounterSpecs {
  private readonly reserves = new Map<string, ReserveSpec>();
  private readonly settles = new Map<string, SettleSpec>();

  constructor(private readonly namespace: string) {}

  /** The spec of these checks: the cached one when the same counters with the same limits were reserved before. */
  reserve(checks: readonly CounterCheck[]): ReserveSpec {
    const first = checks[0]!.key;
    const cached = this.reserves.get(first);
    if (cached !== undefined && reserveMatches(cached, checks)) return cached;
    const spec = this.buildReserve(checks);
    if (this.reserves.size >= maxCached) this.reserves.clear();
    this.reserves.set(first, spec);
    return spec;
  }

  /** The spec of a settlement's window counters (in order) and concurrency counters. */
  settle(adjustments: readonly CounterAdjustment[], concurrencyKeys: readonly string[]): SettleSpec {
    const first = adjustments[0]?.key ?? concurrencyKeys[0]!;
    const cached = this.settles.get(first);
    if (cached !== undefined && settleMatches(cached, adjustments, concurrencyKeys)) return cached;
    const names = [...adjustments.map((adjustment) => adjustment.key), ...concurrencyKeys];
    const spec: SettleSpec = { tag: tagOf(first), keys: names.map((name) => flat(this.namespace + name)), names, windows: adjustments.length };
    if (this.settles.size >= maxCached) this.settles.clear();
    this.settles.set(first, spec);
    return spec;
  }

  private buildReserve(checks: readonly CounterCheck[]): ReserveSpec {
    let packed = '';
    const keys: string[] = [];
    const names: string[] = [];
    const kinds: string[] = [];
    const limits: number[] = [];
    const expires: number[] = [];
    for (const check of checks) {
      const kind = kindOf(check);
      const expiresAt = check.kind === 'concurrency' ? 0 : check.expiresAt;
      const key = flat(this.namespace + check.key);
      keys.push(key);
      names.push(check.key);
      kinds.push(kind);
      limits.push(check.limit);
      expires.push(expiresAt);
      packed += `${kind},${integer(check.limit)},${integer(expiresAt)};`;
    }
    return { tag: tagOf(checks[0]!.key), keys, packed: flat(packed), names, kinds, limits, expires };
  }
}

/** The hash tag a counter name starts with (`{acme}`), or '' for a name without one. */
export function tagOf(key: string): string {
  return key.startsWith('{') ? key.slice(0, key.indexOf('}') + 1) : '';
}

/** A whole number as Redis and the scripts read it (limits stay below 1e21, where JavaScript would print an exponent). */
export function integer(value: number): string {
  return Number.isInteger(value) ? `${value}` : `${Math.round(value)}`;
}

function kindOf(check: CounterCheck): 'w' | 's' | 'c' {
  return check.kind === 'concurrency' ? 'c' : check.seed ? 's' : 'w';
}

/** A string V8 keeps in one piece, so writing it on every call copies it once instead of joining it first. */
function flat(text: string): string {
  return Buffer.from(text).toString();
}

function reserveMatches(spec: ReserveSpec, checks: readonly CounterCheck[]): boolean {
  if (spec.names.length !== checks.length) return false;
  for (let index = 0; index < checks.length; index += 1) {
    const check = checks[index]!;
    if (
      spec.names[index] !== check.key ||
      spec.limits[index] !== check.limit ||
      spec.kinds[index] !== kindOf(check) ||
      (check.kind !== 'concurrency' && spec.expires[index] !== check.expiresAt)
    )
      return false;
  }
  return true;
}

function settleMatches(spec: SettleSpec, adjustments: readonly CounterAdjustment[], concurrencyKeys: readonly string[]): boolean {
  if (spec.windows !== adjustments.length || spec.names.length !== adjustments.length + concurrencyKeys.length) return false;
  for (let index = 0; index < adjustments.length; index += 1) if (spec.names[index] !== adjustments[index]!.key) return false;
  for (let index = 0; index < concurrencyKeys.length; index += 1) if (spec.names[adjustments.length + index] !== concurrencyKeys[index]) return false;
  return true;
}
