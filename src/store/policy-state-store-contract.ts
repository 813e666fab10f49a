/**
 * Device policy state in the Store contract (issue 17): approvals decided only from the state
 * they were read in, voided by an emergency stop; taints, counted steps and idempotency keys.
 * Registered from `runStoreContract`, so it runs on SQLite and PostgreSQL.
 */
import { describe, expect, test } from 'vitest';
import type { Store } from '../core/store.js';
import { approvalRecord } from './device-store-contract.js';

export function runPolicyStateStoreContract(open: () => Promise<Store>): void {
  describe('device policy state', () => {
    test('a decision is written only over the state it was read in; an emergency stop voids what is pending or granted', async () => {
      const store = await open();
      const asked = approvalRecord({ id: 'apr_d1', status: 'requested', grants: [] });
      await store.devices.putApproval(asked);
      const first = { ...asked, grants: ['key:a'] };
      expect(await store.devices.decideApproval(first, { status: 'requested', grants: [] })).toBe(true);
      // A second decider that read the approval before the first grant loses.
      expect(await store.devices.decideApproval({ ...asked, grants: ['key:b'] }, { status: 'requested', grants: [] })).toBe(false);
      const second = { ...first, status: 'granted' as const, grants: ['key:a', 'key:c'], decidedBy: 'key:c' };
      expect(await store.devices.decideApproval(second, { status: 'requested', grants: ['key:a'] })).toBe(true);
      expect(await store.devices.getApproval('t1', 'apr_d1')).toMatchObject({ status: 'granted', grants: ['key:a', 'key:c'] });
      await store.devices.putApproval(approvalRecord({ id: 'apr_d2', status: 'requested', grants: [], requestedAt: 901 }));
      await store.devices.putApproval(approvalRecord({ id: 'apr_d3', status: 'used', requestedAt: 902 }));
      await store.devices.putApproval(approvalRecord({ id: 'apr_other', tenantId: 't2', status: 'granted' }));
      expect((await store.devices.voidApprovals('t1', 1200)).sort()).toEqual(['apr_d1', 'apr_d2']);
      expect(await store.devices.getApproval('t1', 'apr_d1')).toMatchObject({ status: 'void' });
      expect(await store.devices.getApproval('t1', 'apr_d3')).toMatchObject({ status: 'used' });
      expect(await store.devices.getApproval('t2', 'apr_other')).toMatchObject({ status: 'granted' });
      expect(await store.devices.redeemApproval('t1', 'apr_d1', 'h1', 'key-1', 1300)).toBe(false);
      expect(await store.devices.decideApproval({ ...asked, status: 'granted' }, { status: 'requested', grants: [] })).toBe(false);
      await store.close();
    });

    test('taints last until their time, only ever lengthen, and can be cleared', async () => {
      const store = await open();
      const devices = store.devices;
      await devices.putTaints([{ tenantId: 't1', subject: 'key:k1', until: 2000, reason: 'device:a', setAt: 1000 }]);
      await devices.putTaints([{ tenantId: 't1', subject: 'key:k1', until: 1500, reason: 'device:b', setAt: 1100 }]);
      expect(await devices.taintedUntil('t1', ['key:k1', 'conversation:c'], 1200)).toMatchObject({ subject: 'key:k1', until: 2000, reason: 'device:a' });
      expect(await devices.taintedUntil('t1', ['key:k1'], 2000)).toBeUndefined();
      expect(await devices.taintedUntil('t2', ['key:k1'], 1200)).toBeUndefined();
      await devices.putTaints([{ tenantId: 't1', subject: 'conversation:c', until: 3000, reason: 'x', setAt: 1200 }]);
      expect((await devices.listTaints('t1', 1200)).map((taint) => taint.subject)).toEqual(['conversation:c', 'key:k1']);
      expect(await devices.clearTaints('t1', ['key:k1'], 1200)).toBe(1);
      expect(await devices.taintedUntil('t1', ['key:k1'], 1200)).toBeUndefined();
      await store.close();
    });

    test('steps are counted per key and kind in a window; devices per conversation', async () => {
      const store = await open();
      const devices = store.devices;
      const step = { tenantId: 't1', kind: 'actuation' as const, keySubject: 'key:k1', conversation: 'c1', deviceId: 'lamp-1', at: 1000 };
      const first = await devices.addStep(step);
      await devices.addStep({ ...step, deviceId: 'lamp-2', at: 1100, conversation: 'c2' });
      await devices.addStep({ ...step, kind: 'approval_request', at: 1100 });
      await devices.addStep({ ...step, keySubject: 'key:k2', deviceId: 'lamp-3', at: 1100 });
      expect(await devices.countSteps('t1', 'actuation', 'key:k1', 0)).toBe(2);
      expect(await devices.countSteps('t1', 'actuation', 'key:k1', 1000)).toBe(1);
      expect(await devices.countSteps('t1', 'approval_request', 'key:k1', 0)).toBe(1);
      expect((await devices.conversationDevices('t1', 'c1', 0)).sort()).toEqual(['lamp-1', 'lamp-3']);
      await devices.removeStep(first);
      expect(await devices.countSteps('t1', 'actuation', 'key:k1', 0)).toBe(1);
      await devices.pruneSteps(1200);
      expect(await devices.countSteps('t1', 'actuation', 'key:k1', 0)).toBe(0);
      await store.close();
    });

    test('admit reads the emergency stop, the taint and the conversation, records a step and counts it, in one call', async () => {
      const store = await open();
      const devices = store.devices;
      const query = {
        tenantId: 't1',
        taintSubjects: ['key:k1', 'conversation:c1'],
        keySubject: 'key:k1',
        conversation: 'c1',
        deviceId: 'lamp-1',
        now: 10_000,
        record: true,
        capSince: 0,
        countLimit: 3,
        conversationSince: 0,
      };
      const first = await devices.admit(query);
      expect(first).toMatchObject({ emergencyStop: undefined, taint: undefined, count: 1 });
      // The conversation's devices are read beside the insert: this command's own device may or may not be among them.
      expect(first.conversationDevices.filter((device) => device !== 'lamp-1')).toEqual([]);
      expect(first.step).toBeTypeOf('number');
      await devices.putEmergencyStop({ tenantId: 't1', active: true, reason: 'smoke', changedBy: 'key:a', changedAt: 9000 });
      await devices.putTaints([{ tenantId: 't1', subject: 'conversation:c1', until: 20_000, reason: 'device:a said so', setAt: 9000 }]);
      await devices.addStep({ tenantId: 't1', kind: 'actuation', keySubject: 'key:k2', conversation: 'c1', deviceId: 'lamp-2', at: 9500 });
      const second = await devices.admit({ ...query, deviceId: 'lamp-3' });
      expect(second).toMatchObject({
        emergencyStop: { tenantId: 't1', active: true, reason: 'smoke', changedBy: 'key:a', changedAt: 9000 },
        taint: { subject: 'conversation:c1', until: 20_000, reason: 'device:a said so' },
        count: 2,
      });
      expect(second.conversationDevices).toEqual(expect.arrayContaining(['lamp-1', 'lamp-2']));
      expect(second.step).toBeGreaterThan(first.step!);
      // Counting stops at the limit; without `record` nothing is written.
      await devices.admit(query);
      await devices.admit(query);
      expect((await devices.admit({ ...query, record: false })).count).toBe(3);
      expect(await devices.countSteps('t1', 'actuation', 'key:k1', 0)).toBe(4);
      expect((await devices.admit({ ...query, record: false, taintSubjects: ['key:k1'], conversation: null, now: 30_000 })).taint).toBeUndefined();
      // Another tenant's stop and steps are not this one's.
      expect(await devices.admit({ ...query, tenantId: 't2', record: false })).toMatchObject({ emergencyStop: undefined, count: 0 });
      await store.close();
    });

    test('an idempotency key is claimed once, answers what the first request stored, and expires', async () => {
      const store = await open();
      const devices = store.devices;
      const record = {
        tenantId: 't1',
        keySubject: 'key:k1',
        key: 'idem-1',
        requestHash: 'h',
        state: 'running' as const,
        status: null,
        body: null,
        createdAt: 1000,
        expiresAt: 5000,
      };
      const claims = await Promise.all([devices.claimIdempotency(record), devices.claimIdempotency(record)]);
      expect(claims.filter((claim) => claim === undefined)).toHaveLength(1);
      expect(claims.find((claim) => claim !== undefined)).toMatchObject({ state: 'running' });
      await devices.finishIdempotency('t1', 'key:k1', 'idem-1', 200, { ok: true });
      expect(await devices.claimIdempotency({ ...record, createdAt: 2000 })).toMatchObject({
        state: 'done',
        status: 200,
        body: { ok: true },
        requestHash: 'h',
      });
      expect(await devices.claimIdempotency({ ...record, keySubject: 'key:k2' })).toBeUndefined();
      expect(await devices.claimIdempotency({ ...record, createdAt: 5000, expiresAt: 9000 })).toBeUndefined();
      await devices.releaseIdempotency('t1', 'key:k1', 'idem-1');
      expect(await devices.claimIdempotency({ ...record, createdAt: 6000, expiresAt: 9000 })).toBeUndefined();
      await store.close();
    });
  });
}
