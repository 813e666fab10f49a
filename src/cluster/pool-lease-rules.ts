/**
 * The pool lease's rules, pure (the clock is the caller's `now`). Timings follow the worker
 * heartbeat: the lease lasts 1.5 heartbeats and every control plane looks at it every fifth of
 * one, so a leader that dies is followed at most 1.5 + 0.2 = 1.7 heartbeats after its last
 * renewal (the bound is 2), and a leader renews about seven times per lease, so one slow
 * renewal on a loaded machine does not cost it the lease. A leader stops acting one check before
 * its lease expires by its own clock, so a peer whose clock runs up to that much ahead never
 * overlaps with it; the fence in the store covers whatever that misses (`core/pool-lease.ts`).
 */
import type { LeaseRecord } from '../core/pool-lease.js';

/** How long a lease lasts and how often it is looked at. */
export interface LeasePolicy {
  ttlMs: number;
  checkEveryMs: number;
}

/** The policy for a pool whose workers beat every `heartbeatMs`. */
export function leasePolicy(heartbeatMs: number): LeasePolicy {
  return { ttlMs: Math.round(heartbeatMs * 1.5), checkEveryMs: Math.max(10, Math.round(heartbeatMs / 5)) };
}

/** What a control plane does at one look at the lease. */
export type LeaseStep =
  /** Write `next` (compare-and-set against what was read): a new lease, a lease taken over, or one renewed. */
  | { kind: 'take' | 'renew'; next: LeaseRecord }
  /** Another control plane holds it until `until`. */
  | { kind: 'follow'; leader: string; until: number };

/**
 * The step for `holder` given the lease as read (`current`) at `now`. A lease that expired is
 * taken with the next generation, even by its last holder (it may have been silent while no one
 * else took it, and what it did then must not pass for the new term); one held and unexpired is
 * renewed by its holder and followed by everyone else.
 */
export function nextLeaseStep(name: string, current: LeaseRecord | undefined, holder: string, now: number, policy: LeasePolicy): LeaseStep {
  const expiresAt = now + policy.ttlMs;
  if (current === undefined) return { kind: 'take', next: { name, holder, generation: 1, expiresAt } };
  if (current.expiresAt <= now) return { kind: 'take', next: { name, holder, generation: current.generation + 1, expiresAt } };
  if (current.holder === holder) return { kind: 'renew', next: { ...current, expiresAt } };
  return { kind: 'follow', leader: current.holder, until: current.expiresAt };
}

/**
 * Whether a holder whose lease runs to `expiresAt` may act at `now`: until one check before the
 * expiry, so it stops before any peer may take over even when its renewals fail.
 */
export function mayLead(expiresAt: number, now: number, policy: LeasePolicy): boolean {
  return now < expiresAt - policy.checkEveryMs;
}

/** The lease as released by its holder at shutdown: expired now, so a peer takes it at its next look rather than after the ttl. */
export function releasedLease(current: LeaseRecord, now: number): LeaseRecord {
  return { ...current, expiresAt: Math.min(current.expiresAt, now) };
}
