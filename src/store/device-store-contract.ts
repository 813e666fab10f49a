/**
 * The devices section of the Store contract test: registered from `runStoreContract`, so it runs
 * on every Store implementation.
 */
import { describe, expect, test } from 'vitest';
import { AuditLinkTaken, type ApprovalRecord, type AuditEntry, type CommandRecord, type TwinRecord } from '../core/device-store.js';
import type { Store } from '../core/store.js';

/** A valid command row; tests override what they care about. */
export function commandRecord(overrides: Partial<CommandRecord> = {}): CommandRecord {
  return {
    id: `cmd_${Math.random().toString(36).slice(2)}`,
    tenantId: 't1',
    deviceId: 'lamp-1',
    kind: 'set',
    name: 'brightness',
    input: 40,
    hash: 'h1',
    state: 'pending',
    createdAt: 1000,
    updatedAt: 1000,
    deadline: 6000,
    output: null,
    error: null,
    keyId: 'key-1',
    model: 'm',
    conversation: 'conv-1',
    approvalId: null,
    ...overrides,
  };
}

/** A valid approval row, granted and unexpired at t=1000. */
export function approvalRecord(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    id: `apr_${Math.random().toString(36).slice(2)}`,
    tenantId: 't1',
    commandHash: 'h1',
    deviceId: 'lock-1',
    kind: 'invoke',
    name: 'unlock',
    input: {},
    risk: 'high',
    reason: 'risk high',
    status: 'granted',
    requestedBy: 'key-1',
    requestedAt: 900,
    expiresAt: 2000,
    decidedBy: 'key:admin',
    decidedAt: 950,
    usedAt: null,
    grants: ['key:admin'],
    conversation: null,
    model: null,
    ...overrides,
  };
}

function auditEntry(overrides: Partial<AuditEntry> = {}): Omit<AuditEntry, 'seq'> {
  return {
    id: `aud_${Math.random().toString(36).slice(2)}`,
    at: 1000,
    tenantId: 't1',
    event: 'proposal',
    actor: 'key:key-1',
    keyId: 'key-1',
    model: 'm',
    conversation: 'c1',
    source: 'chat',
    deviceId: 'lamp-1',
    commandId: null,
    approvalId: null,
    detail: { input: { value: 1 } },
    prevHash: '',
    hash: 'x',
    ...overrides,
  };
}

/** Registers the devices contract for one implementation; `open` returns a fresh, empty store. */
export function runDeviceStoreContract(open: () => Promise<Store>): void {
  describe('devices section', () => {
    test('devices are upserted, listed by tenant and removed with their twin and history', async () => {
      const store = await open();
      const device = { tenantId: 't1', id: 'lamp-1', model: { title: 'Lamp' }, secretHash: 'abc', createdAt: 1, updatedAt: 1 };
      await store.devices.putDevice(device);
      await store.devices.putDevice({ ...device, model: { title: 'Lamp 2' }, updatedAt: 2 });
      await store.devices.putDevice({ ...device, tenantId: 't2' });
      expect(await store.devices.getDevice('t1', 'lamp-1')).toEqual({ ...device, model: { title: 'Lamp 2' }, updatedAt: 2 });
      expect(await store.devices.getDevice('t3', 'lamp-1')).toBeUndefined();
      expect(await store.devices.listDevices('t1')).toHaveLength(1);
      expect(await store.devices.listDevices()).toHaveLength(2);
      const twin: TwinRecord = {
        tenantId: 't1',
        deviceId: 'lamp-1',
        desired: { on: true },
        reported: {},
        version: 1,
        connection: 'online',
        reportedAt: null,
        updatedAt: 5,
      };
      await store.devices.putTwins([twin]);
      await store.devices.appendTwinHistory([{ tenantId: 't1', deviceId: 'lamp-1', version: 1, at: 5, kind: 'desired', data: { on: true } }]);
      expect(await store.devices.deleteDevice('t1', 'lamp-1')).toBe(true);
      expect(await store.devices.deleteDevice('t1', 'lamp-1')).toBe(false);
      expect(await store.devices.listTwins('t1')).toEqual([]);
      expect(await store.devices.listTwinHistory({ tenantId: 't1', deviceId: 'lamp-1' })).toEqual([]);
      await store.close();
    });

    test('twins round-trip and replace; history reads newest first', async () => {
      const store = await open();
      const twin: TwinRecord = {
        tenantId: 't1',
        deviceId: 'd',
        desired: { level: 3 },
        reported: { level: 2, label: 'x' },
        version: 7,
        connection: 'lost',
        reportedAt: 123,
        updatedAt: 124,
      };
      await store.devices.putTwins([twin, { ...twin, deviceId: 'e', reportedAt: null }]);
      await store.devices.putTwins([{ ...twin, version: 8, reported: { level: 3 } }]);
      expect(await store.devices.listTwins('t1')).toEqual([
        { ...twin, version: 8, reported: { level: 3 } },
        { ...twin, deviceId: 'e', reportedAt: null },
      ]);
      const entries = Array.from({ length: 250 }, (_, index) => ({
        tenantId: 't1',
        deviceId: 'd',
        version: index,
        at: 1000 + index,
        kind: 'reported' as const,
        data: { level: index },
      }));
      await store.devices.appendTwinHistory(entries);
      const newest = await store.devices.listTwinHistory({ tenantId: 't1', deviceId: 'd', limit: 3 });
      expect(newest.map((entry) => entry.version)).toEqual([249, 248, 247]);
      expect(await store.devices.listTwinHistory({ tenantId: 't1', deviceId: 'd', since: 1248, limit: 10 })).toHaveLength(2);
      await store.close();
    });

    test('an older twin never overwrites a newer one, and its writer is told what the store holds', async () => {
      const store = await open();
      const twin: TwinRecord = {
        tenantId: 't1',
        deviceId: 'd',
        desired: {},
        reported: { level: 5 },
        version: 5,
        connection: 'online',
        reportedAt: 50,
        updatedAt: 50,
      };
      expect(await store.devices.putTwins([twin])).toEqual([]);
      // A control plane one change behind writes its version 4, and its own idea of version 5.
      const older = { ...twin, version: 4, reported: { level: 4 }, reportedAt: 40, updatedAt: 40 };
      expect(await store.devices.putTwins([older])).toEqual([twin]);
      expect(await store.devices.putTwins([{ ...twin, reported: { level: 9 } }])).toEqual([twin]);
      expect(await store.devices.listTwins('t1')).toEqual([twin]);
      // The same twin reported again later moves reportedAt forward, and only that.
      expect(await store.devices.putTwins([{ ...twin, reportedAt: 70, updatedAt: 70 }])).toEqual([]);
      expect(await store.devices.listTwins('t1')).toEqual([{ ...twin, reportedAt: 70 }]);
      expect(await store.devices.putTwins([{ ...twin, version: 6, reported: { level: 6 }, reportedAt: 80, updatedAt: 80 }])).toEqual([]);
      expect((await store.devices.listTwins('t1'))[0]).toMatchObject({ version: 6, reported: { level: 6 }, reportedAt: 80 });
      await store.close();
    });

    test('a history row written twice (by two control planes) is stored once; events at one version by ordinal', async () => {
      const store = await open();
      const row = { tenantId: 't1', deviceId: 'd', version: 3, at: 30, kind: 'reported' as const, data: { level: 3 } };
      const event = { tenantId: 't1', deviceId: 'd', version: 3, kind: 'event' as const, data: { name: 'pressed', data: {} } };
      await store.devices.appendTwinHistory([row, { ...event, at: 31 }, { ...event, at: 32, ordinal: 1 }]);
      // The other control plane's copies, received a moment later by its own clock.
      await store.devices.appendTwinHistory([
        { ...row, at: 33 },
        { ...event, at: 34 },
        { ...event, at: 35, ordinal: 1 },
      ]);
      await store.devices.appendTwinHistory([{ ...row, version: 4, at: 36, data: { level: 4 } }]);
      const history = await store.devices.listTwinHistory({ tenantId: 't1', deviceId: 'd' });
      expect(history.map((entry) => [entry.version, entry.kind, entry.ordinal ?? 0, entry.at])).toEqual([
        [4, 'reported', 0, 36],
        [3, 'event', 1, 32],
        [3, 'event', 0, 31],
        [3, 'reported', 0, 30],
      ]);
      await store.close();
    });

    test('commands update in place and filter by device and state', async () => {
      const store = await open();
      const command = commandRecord({ id: 'cmd_a', input: { code: [1, 2] } });
      await store.devices.putCommand(command);
      await store.devices.putCommand({ ...command, state: 'acked', updatedAt: 1200, output: { ok: true } });
      await store.devices.putCommand(commandRecord({ id: 'cmd_b', createdAt: 2000, deviceId: 'other' }));
      await store.devices.putCommand(commandRecord({ id: 'cmd_c', createdAt: 3000, tenantId: 't2' }));
      expect(await store.devices.getCommand('t1', 'cmd_a')).toEqual({ ...command, state: 'acked', updatedAt: 1200, output: { ok: true } });
      expect(await store.devices.getCommand('t2', 'cmd_a')).toBeUndefined();
      expect((await store.devices.listCommands({ tenantId: 't1' })).map((row) => row.id)).toEqual(['cmd_b', 'cmd_a']);
      expect((await store.devices.listCommands({ tenantId: 't1', deviceId: 'lamp-1' })).map((row) => row.id)).toEqual(['cmd_a']);
      expect((await store.devices.listCommands({ states: ['pending'] })).map((row) => row.id)).toEqual(['cmd_c', 'cmd_b']);
      await store.close();
    });

    test('an approval is redeemed once, only for its command, its key, and before it expires', async () => {
      const store = await open();
      const approval = approvalRecord({ id: 'apr_1' });
      await store.devices.putApproval(approval);
      expect(await store.devices.redeemApproval('t1', 'apr_1', 'other-hash', 'key-1', 1000)).toBe(false);
      expect(await store.devices.redeemApproval('t1', 'apr_1', 'h1', 'key-2', 1000)).toBe(false);
      expect(await store.devices.redeemApproval('t1', 'apr_1', 'h1', null, 1000)).toBe(false);
      expect(await store.devices.redeemApproval('t2', 'apr_1', 'h1', 'key-1', 1000)).toBe(false);
      expect(await store.devices.redeemApproval('t1', 'apr_1', 'h1', 'key-1', 2000)).toBe(false);
      const attempts = await Promise.all([1, 2, 3].map(() => store.devices.redeemApproval('t1', 'apr_1', 'h1', 'key-1', 1500)));
      expect(attempts.filter(Boolean)).toHaveLength(1);
      expect(await store.devices.getApproval('t1', 'apr_1')).toMatchObject({ status: 'used', usedAt: 1500 });
      await store.devices.putApproval(approvalRecord({ id: 'apr_local', requestedBy: null, requestedAt: 901 }));
      expect(await store.devices.redeemApproval('t1', 'apr_local', 'h1', null, 1000)).toBe(true);
      await store.devices.putApproval(approvalRecord({ id: 'apr_asked', status: 'requested', requestedAt: 902 }));
      expect(await store.devices.redeemApproval('t1', 'apr_asked', 'h1', 'key-1', 1000)).toBe(false);
      expect((await store.devices.listApprovals({ tenantId: 't1' })).map((row) => row.id)).toEqual(['apr_asked', 'apr_local', 'apr_1']);
      expect((await store.devices.listApprovals({ tenantId: 't1', status: 'requested' })).map((row) => row.id)).toEqual(['apr_asked']);
      await store.close();
    });

    test('emergency stops are kept per tenant', async () => {
      const store = await open();
      await store.devices.putEmergencyStop({ tenantId: 't1', active: true, reason: 'smoke', changedBy: 'local', changedAt: 1 });
      await store.devices.putEmergencyStop({ tenantId: 't2', active: true, reason: 'x', changedBy: 'local', changedAt: 1 });
      await store.devices.putEmergencyStop({ tenantId: 't2', active: false, reason: 'clear', changedBy: 'key:a', changedAt: 2 });
      expect(await store.devices.listEmergencyStops()).toEqual([
        { tenantId: 't1', active: true, reason: 'smoke', changedBy: 'local', changedAt: 1 },
        { tenantId: 't2', active: false, reason: 'clear', changedBy: 'key:a', changedAt: 2 },
      ]);
      await store.close();
    });

    test('the audit log appends in order with seq, and filters newest first', async () => {
      const store = await open();
      const written = await store.devices.appendAudit([
        auditEntry({ id: 'a1', at: 1, hash: 'h1' }),
        auditEntry({ id: 'a2', at: 2, event: 'denial', deviceId: 'lock-1', detail: { reason: 'out_of_scope' }, prevHash: 'h1', hash: 'h2' }),
        auditEntry({ id: 'a3', at: 3, conversation: 'c2', commandId: 'cmd_1', prevHash: 'h2', hash: 'h3' }),
        auditEntry({ id: 'a4', at: 4, tenantId: 't2', hash: 'h1' }),
      ]);
      expect(written.map((entry) => entry.seq)).toEqual([...written.map((entry) => entry.seq)].sort((a, b) => a - b));
      expect((await store.devices.listAudit({ tenantId: 't1' })).map((entry) => entry.id)).toEqual(['a3', 'a2', 'a1']);
      expect(await store.devices.listAudit({ tenantId: 't1', event: 'denial' })).toEqual([written[1]]);
      expect((await store.devices.listAudit({ tenantId: 't1', deviceId: 'lock-1' })).map((entry) => entry.id)).toEqual(['a2']);
      expect((await store.devices.listAudit({ tenantId: 't1', conversation: 'c2' })).map((entry) => entry.id)).toEqual(['a3']);
      expect((await store.devices.listAudit({ tenantId: 't1', commandId: 'cmd_1' })).map((entry) => entry.id)).toEqual(['a3']);
      expect((await store.devices.listAudit({ tenantId: 't1', since: 2, until: 3 })).map((entry) => entry.id)).toEqual(['a2']);
      expect(await store.devices.listAudit({ tenantId: 't1', limit: 1 })).toHaveLength(1);
      expect(await store.devices.auditHeads()).toEqual([
        { tenantId: 't1', seq: written[2]!.seq, hash: 'h3' },
        { tenantId: 't2', seq: written[3]!.seq, hash: 'h1' },
      ]);
      expect((await store.devices.auditChain('t1', written[0]!.seq, 10)).map((entry) => entry.id)).toEqual(['a2', 'a3']);
      expect((await store.devices.auditChain('t1', 0, 1)).map((entry) => entry.id)).toEqual(['a1']);
      await store.close();
    });

    test('the chain link is unique: a second entry after the same hash is refused, and nothing of its batch is written', async () => {
      const store = await open();
      await store.devices.appendAudit([auditEntry({ id: 'b1', hash: 'h1' }), auditEntry({ id: 'b2', prevHash: 'h1', hash: 'h2' })]);
      await expect(store.devices.appendAudit([auditEntry({ id: 'b3', prevHash: 'h1', hash: 'h3' })])).rejects.toBeInstanceOf(AuditLinkTaken);
      await expect(
        store.devices.appendAudit([auditEntry({ id: 'b4', prevHash: 'h2', hash: 'h4' }), auditEntry({ id: 'b5', prevHash: 'h2', hash: 'h5' })]),
      ).rejects.toBeInstanceOf(AuditLinkTaken);
      expect((await store.devices.listAudit({ tenantId: 't1' })).map((entry) => entry.id)).toEqual(['b2', 'b1']);
      // Another tenant's chain starts from the same empty hash.
      await store.devices.appendAudit([auditEntry({ id: 'b6', tenantId: 't2', hash: 'h1' })]);
      await store.close();
    });
  });
}
