/**
 * The audit log's hash chain: each entry's hash covers its content and the previous entry's
 * hash (per tenant), so an edited, removed or reordered entry is detectable by anyone who reads
 * the log, whatever database holds it.
 */
import type { AuditEntry } from '../core/device-store.js';
import { canonicalJson, sha256 } from './canonical-json.js';

/** The hash of an entry's content chained to `prevHash`; `seq` (assigned by the store) and `hash` itself are not covered. */
export function auditHash(entry: Omit<AuditEntry, 'seq' | 'hash'>): string {
  const content = {
    id: entry.id,
    at: entry.at,
    tenantId: entry.tenantId,
    event: entry.event,
    actor: entry.actor,
    keyId: entry.keyId,
    model: entry.model,
    conversation: entry.conversation,
    source: entry.source,
    deviceId: entry.deviceId,
    commandId: entry.commandId,
    approvalId: entry.approvalId,
    detail: entry.detail,
  };
  return sha256(`${entry.prevHash}\n${canonicalJson(content)}`);
}

/** Checks entries of one tenant in log order (oldest first); returns the first broken entry's id, or undefined. */
export function verifyAuditChain(entries: readonly AuditEntry[], firstPrevHash = ''): string | undefined {
  let previous = firstPrevHash;
  for (const entry of entries) {
    if (entry.prevHash !== previous || auditHash(entry) !== entry.hash) return entry.id;
    previous = entry.hash;
  }
  return undefined;
}
