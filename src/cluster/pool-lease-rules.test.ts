import { describe, expect, test } from 'vitest';
import type { LeaseRecord } from '../core/pool-lease.js';
import { seededRandom } from '../gguf/seeded-random.js';
import { leasePolicy, mayLead, nextLeaseStep, releasedLease } from './pool-lease-rules.js';

const policy = leasePolicy(1000);

describe('pool lease rules', () => {
  test('timings follow the heartbeat: 1.5 beats a lease, a look every fifth of one', () => {
    expect(policy).toEqual({ ttlMs: 1500, checkEveryMs: 200 });
    expect(leasePolicy(5000)).toEqual({ ttlMs: 7500, checkEveryMs: 1000 });
  });

  test('no lease: taken at generation 1; held: renewed by its holder, followed by the rest', () => {
    const taken = nextLeaseStep('pool', undefined, 'a', 100, policy);
    expect(taken).toEqual({ kind: 'take', next: { name: 'pool', holder: 'a', generation: 1, expiresAt: 1600 } });
    const lease = (taken as { next: LeaseRecord }).next;
    expect(nextLeaseStep('pool', lease, 'a', 300, policy)).toEqual({ kind: 'renew', next: { ...lease, expiresAt: 1800 } });
    expect(nextLeaseStep('pool', lease, 'b', 300, policy)).toEqual({ kind: 'follow', leader: 'a', until: 1600 });
  });

  test('an expired lease is taken with the next generation, by anyone, its last holder too', () => {
    const lease: LeaseRecord = { name: 'pool', holder: 'a', generation: 7, expiresAt: 1600 };
    expect(nextLeaseStep('pool', lease, 'b', 1600, policy)).toEqual({ kind: 'take', next: { name: 'pool', holder: 'b', generation: 8, expiresAt: 3100 } });
    expect(nextLeaseStep('pool', lease, 'a', 2000, policy)).toMatchObject({ kind: 'take', next: { holder: 'a', generation: 8 } });
  });

  test('a holder stops acting one look before its lease expires; a released lease is expired at once', () => {
    expect(mayLead(1600, 1399, policy)).toBe(true);
    expect(mayLead(1600, 1400, policy)).toBe(false);
    const lease: LeaseRecord = { name: 'pool', holder: 'a', generation: 3, expiresAt: 1600 };
    expect(releasedLease(lease, 500)).toEqual({ ...lease, expiresAt: 500 });
    expect(nextLeaseStep('pool', releasedLease(lease, 500), 'b', 500, policy)).toMatchObject({ kind: 'take', next: { generation: 4 } });
  });

  test('simulated: three control planes with skewed clocks and late looks; one actor at a time, a new leader within 2 heartbeats of a death', () => {
    const random = seededRandom(25);
    const heartbeat = 1000;
    let worstTakeover = 0;
    for (let run = 0; run < 40; run += 1) {
      let lease: LeaseRecord | undefined;
      // Each control plane's clock is off by up to a tenth of a heartbeat, and its looks come up to 20 ms late.
      const planes = ['a', 'b', 'c'].map((holder) => ({
        holder,
        skew: (random() - 0.5) * 0.1 * heartbeat,
        nextLook: random() * policy.checkEveryMs,
        held: 0,
        dead: false,
      }));
      const deathAt = 2000 + random() * 5000;
      let killed: string | undefined;
      let takeoverAt: number | undefined;
      let overlaps = 0;
      for (let now = 0; now < deathAt + 3 * heartbeat; now += 2) {
        if (killed === undefined && now >= deathAt && lease) {
          killed = lease.holder;
          planes.find((plane) => plane.holder === killed)!.dead = true;
        }
        for (const plane of planes) {
          if (plane.dead || now < plane.nextLook) continue;
          plane.nextLook = now + policy.checkEveryMs + random() * 20;
          const step = nextLeaseStep('pool', lease, plane.holder, now + plane.skew, policy);
          if (step.kind === 'follow') continue;
          lease = step.next;
          plane.held = step.next.expiresAt;
          if (killed !== undefined && takeoverAt === undefined && step.kind === 'take') takeoverAt = now;
        }
        // Each acts on what it last wrote, not on the row: a leader that lost the lease does not know it yet.
        const acting = planes.filter((plane) => !plane.dead && mayLead(plane.held, now + plane.skew, policy));
        if (acting.length > 1) overlaps += 1;
      }
      expect(overlaps).toBe(0);
      expect(takeoverAt).toBeDefined();
      worstTakeover = Math.max(worstTakeover, takeoverAt! - deathAt);
    }
    expect(worstTakeover).toBeLessThanOrEqual(2 * heartbeat);
  });
});
