import { expect, test } from 'vitest';
import type { AuditEntry } from '../core/device-store.js';
import { auditHash, verifyAuditChain } from './audit-chain.js';
import { canonicalJson } from './canonical-json.js';

function chain(count: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let prevHash = '';
  for (let index = 0; index < count; index += 1) {
    const base = {
      id: `a${index}`,
      at: index,
      tenantId: 't',
      event: 'proposal' as const,
      actor: 'local',
      keyId: null,
      model: null,
      conversation: null,
      source: 'rest',
      deviceId: 'd',
      commandId: null,
      approvalId: null,
      detail: { index },
      prevHash,
    };
    const hash = auditHash(base);
    entries.push({ ...base, seq: index + 1, hash });
    prevHash = hash;
  }
  return entries;
}

test('an intact chain verifies', () => {
  expect(verifyAuditChain(chain(5))).toBeUndefined();
});

test('an edited, removed or reordered entry breaks the chain where it happened', () => {
  const edited = chain(5);
  edited[2] = { ...edited[2]!, detail: { index: 99 } };
  expect(verifyAuditChain(edited)).toBe('a2');
  const removed = chain(5);
  removed.splice(1, 1);
  expect(verifyAuditChain(removed)).toBe('a2');
  const swapped = chain(3);
  [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
  expect(verifyAuditChain(swapped)).toBe('a1');
});

test('canonical JSON sorts keys at every depth and drops undefined', () => {
  expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
  expect(canonicalJson(undefined)).toBe('null');
});
