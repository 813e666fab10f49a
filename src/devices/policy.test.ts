import { describe, expect, test } from 'vitest';
import type { ApprovalRecord } from '../core/device-store.js';
import { localPrincipal, type Principal } from '../core/principal.js';
import { decide, type PolicyFacts, type Proposal } from './policy.js';
import { simCatalog } from './sim/sim-catalog.js';
import { parseThingModel, type ThingModel } from './thing-model.js';

const models: Record<string, ThingModel> = {
  'lamp-1': parseThingModel(simCatalog.lamp.model),
  'lock-1': parseThingModel(simCatalog.lock.model),
  'robot-1': parseThingModel(simCatalog.robot.model),
  'belt-1': parseThingModel(simCatalog.conveyor.model),
  'thermo-1': parseThingModel(simCatalog.thermostat.model),
};
const keyPrincipal: Principal = {
  tenantId: 't1',
  keyId: 'key-1',
  local: false,
  scopes: { inference: true, admin: false, models: '*', devices: ['lamp-1', 'lock-1'] },
};

function facts(proposal: Proposal, overrides: Partial<PolicyFacts> = {}): PolicyFacts {
  return {
    now: 10_000,
    principal: localPrincipal,
    model: models[proposal.deviceId],
    connection: 'online',
    reported: {},
    emergencyStop: undefined,
    untrusted: false,
    touched: new Set(),
    planned: new Set(),
    maxDevices: 3,
    rateWaitMs: 0,
    commandHash: 'hash-a',
    presented: [],
    ...overrides,
  };
}

function approval(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    id: 'apr_1',
    tenantId: 't1',
    commandHash: 'hash-a',
    deviceId: 'lock-1',
    kind: 'invoke',
    name: 'unlock',
    input: {},
    risk: 'high',
    reason: 'risk high',
    status: 'granted',
    requestedBy: null,
    requestedAt: 9000,
    expiresAt: 20_000,
    decidedBy: 'local',
    decidedAt: 9500,
    usedAt: null,
    grants: ['key:admin'],
    conversation: null,
    model: null,
    ...overrides,
  };
}

const setBrightness = (value: unknown, extra: Record<string, unknown> = {}): Proposal => ({
  deviceId: 'lamp-1',
  kind: 'set',
  name: 'brightness',
  input: value,
  arguments: { value, ...extra },
});
const unlock: Proposal = { deviceId: 'lock-1', kind: 'invoke', name: 'unlock', input: { seconds: 5 }, arguments: { seconds: 5 } };
/** Types a table row's proposal. */
const proposal = (value: Proposal): Proposal => value;
const verdictOf = (proposal: Proposal, overrides: Partial<PolicyFacts> = {}) => decide(proposal, facts(proposal, overrides));

describe('decide', () => {
  test('a low-risk, in-range command in scope is allowed', () => {
    expect(verdictOf(setBrightness(40))).toEqual({ verdict: 'allow', risk: 'low', actuation: true });
  });

  test('reads need only the scope, even during an emergency stop', () => {
    const read: Proposal = { deviceId: 'lock-1', kind: 'read', input: undefined };
    expect(verdictOf(read, { emergencyStop: { tenantId: 't1', active: true, reason: 'x', changedBy: 'local', changedAt: 1 } })).toMatchObject({
      verdict: 'allow',
    });
    expect(verdictOf({ ...read, deviceId: 'robot-1' }, { principal: keyPrincipal })).toMatchObject({ verdict: 'deny', reason: 'out_of_scope' });
  });

  test.each([
    [
      'a device outside the key scope',
      proposal({ deviceId: 'robot-1', kind: 'invoke', name: 'stop', input: undefined }),
      { principal: keyPrincipal },
      'out_of_scope',
    ],
    ['an unknown device', proposal({ deviceId: 'ghost', kind: 'invoke', name: 'stop', input: undefined }), {}, 'out_of_scope'],
    ['an empty scope', setBrightness(1), { principal: { ...keyPrincipal, scopes: { ...keyPrincipal.scopes, devices: [] } } }, 'out_of_scope'],
    ['an unknown action', proposal({ deviceId: 'lamp-1', kind: 'invoke', name: 'explode', input: undefined }), {}, 'unknown_affordance'],
    ['an unknown property', proposal({ deviceId: 'lamp-1', kind: 'set', name: 'colour', input: 'red' }), {}, 'unknown_affordance'],
    ['a read-only property', proposal({ deviceId: 'lock-1', kind: 'set', name: 'locked', input: false, arguments: { value: false } }), {}, 'read_only'],
    ['a value above the range', setBrightness(101), {}, 'invalid_input'],
    ['a value below the range', setBrightness(-1), {}, 'invalid_input'],
    ['a wrong type', setBrightness('bright'), {}, 'invalid_input'],
    ['a non-integer for an integer', setBrightness(4.5), {}, 'invalid_input'],
    ['an out-of-range robot move', proposal({ deviceId: 'robot-1', kind: 'invoke', name: 'move_to', input: { x: 0, y: 0, z: 9000 } }), {}, 'invalid_input'],
    ['an argument claiming approval', setBrightness(40, { approved: true }), {}, 'approval_in_arguments'],
    ['an argument claiming confirmation', { ...unlock, arguments: { seconds: 5, confirmed: true } }, {}, 'approval_in_arguments'],
    ['an argument claiming human override', setBrightness(40, { human_override: 'yes' }), {}, 'approval_in_arguments'],
    ['a rate-limited device', setBrightness(40), { rateWaitMs: 1500 }, 'rate_limited'],
    ['an offline device', setBrightness(40), { connection: 'offline' as const }, 'device_offline'],
    ['a lost device', setBrightness(40), { connection: 'lost' as const }, 'device_offline'],
    ['one device past the cap', setBrightness(40), { touched: new Set(['a', 'b', 'c']) }, 'too_many_devices'],
    [
      'an emergency stop',
      proposal({ deviceId: 'lock-1', kind: 'invoke', name: 'lock', input: undefined }),
      { emergencyStop: { tenantId: 't1', active: true, reason: 'fire', changedBy: 'local', changedAt: 1 } },
      'emergency_stop',
    ],
  ])('denied: %s', (_label, given, overrides, reason) => {
    expect(verdictOf(given, overrides as Partial<PolicyFacts>)).toMatchObject({ verdict: 'deny', reason });
  });

  test('a cleared emergency stop refuses nothing', () => {
    expect(verdictOf(setBrightness(40), { emergencyStop: { tenantId: 't1', active: false, reason: 'x', changedBy: 'local', changedAt: 1 } })).toMatchObject({
      verdict: 'allow',
    });
  });

  test('the cap counts the whole turn: a bulk command over the cap is refused for every device in it', () => {
    const planned = new Set(['lamp-1', 'lock-1', 'belt-1', 'robot-1']);
    expect(verdictOf(setBrightness(40), { planned })).toMatchObject({
      verdict: 'deny',
      reason: 'too_many_devices',
      message: expect.stringContaining('make 4'),
    });
    expect(verdictOf(setBrightness(40), { planned: new Set(['lamp-1', 'lock-1', 'belt-1']) })).toMatchObject({ verdict: 'allow' });
    expect(verdictOf(setBrightness(40), { planned: new Set(['lamp-1', 'lock-1']), touched: new Set(['x', 'lock-1']) })).toMatchObject({ verdict: 'allow' });
    expect(verdictOf(setBrightness(40), { planned: new Set(['lamp-1', 'lock-1']), touched: new Set(['x', 'y']) })).toMatchObject({
      reason: 'too_many_devices',
    });
  });

  test('the cap counts new devices only: a device already touched may act again', () => {
    expect(verdictOf(setBrightness(40), { touched: new Set(['lamp-1', 'b', 'c']) })).toMatchObject({ verdict: 'allow' });
    expect(verdictOf(setBrightness(40), { touched: new Set(['a', 'b']) })).toMatchObject({ verdict: 'allow' });
  });

  test('high, critical and untrusted-context actuations need approval', () => {
    expect(verdictOf(unlock)).toMatchObject({ verdict: 'approve', risk: 'high', reason: 'risk high' });
    const move: Proposal = { deviceId: 'robot-1', kind: 'invoke', name: 'move_to', input: { x: 0, y: 0, z: 100 } };
    expect(verdictOf(move)).toMatchObject({ verdict: 'approve', risk: 'critical' });
    expect(verdictOf({ deviceId: 'belt-1', kind: 'set', name: 'speed', input: 1, arguments: { value: 1 } })).toMatchObject({
      verdict: 'approve',
      risk: 'high',
    });
    expect(verdictOf(setBrightness(40), { untrusted: true })).toMatchObject({ verdict: 'approve', risk: 'low', reason: 'untrusted content in context' });
  });

  test('a low-risk stop on a high-risk device needs no approval', () => {
    expect(verdictOf({ deviceId: 'robot-1', kind: 'invoke', name: 'stop', input: undefined })).toMatchObject({ verdict: 'allow', risk: 'low' });
    expect(verdictOf({ deviceId: 'lock-1', kind: 'invoke', name: 'lock', input: undefined })).toMatchObject({ verdict: 'allow' });
  });

  test('a matching granted approval allows the command once', () => {
    expect(verdictOf(unlock, { presented: [approval()] })).toEqual({ verdict: 'allow', risk: 'high', actuation: true, approvalId: 'apr_1' });
  });

  test.each([
    ['for a different command', approval({ commandHash: 'hash-b' }), 'approval_mismatch'],
    ['requested by another key', approval({ requestedBy: 'key-9' }), 'approval_mismatch'],
    ['already used (replay)', approval({ status: 'used', usedAt: 9800 }), 'approval_used'],
    ['expired by time', approval({ expiresAt: 10_000 }), 'approval_expired'],
    ['marked expired', approval({ status: 'expired' }), 'approval_expired'],
    ['not yet granted', approval({ status: 'requested' }), 'approval_not_granted'],
    ['denied by a human', approval({ status: 'denied' }), 'approval_denied'],
  ])('an approval %s is refused', (_label, presented, reason) => {
    expect(verdictOf(unlock, { presented: [presented] })).toMatchObject({ verdict: 'deny', reason });
  });

  test('approvals are irrelevant to commands that need none', () => {
    expect(verdictOf(setBrightness(40), { presented: [approval({ status: 'used' })] })).toEqual({ verdict: 'allow', risk: 'low', actuation: true });
  });

  test('checks run in order: scope before everything, schema before the rate limit', () => {
    expect(verdictOf({ ...setBrightness(999), deviceId: 'robot-1' }, { principal: keyPrincipal, rateWaitMs: 5 })).toMatchObject({ reason: 'out_of_scope' });
    expect(verdictOf(setBrightness(999), { rateWaitMs: 5 })).toMatchObject({ reason: 'invalid_input' });
    expect(verdictOf(setBrightness(40, { approved: true }), { rateWaitMs: 5 })).toMatchObject({ reason: 'approval_in_arguments' });
  });
});
