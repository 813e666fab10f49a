/**
 * Verifies a tenant's audit chain: every entry's hash covers its content and the previous entry's
 * hash, in `seq` order from the first entry, and the latest signed checkpoint given names an entry
 * of the chain with that hash. What it detects and what it cannot: docs/decisions/0005-device-safety.md.
 */
import type { KeyObject } from 'node:crypto';
import type { DeviceStore } from '../core/device-store.js';
import { auditHash } from './audit-chain.js';
import { checkpointSigned, type AuditCheckpoint } from './audit-checkpoint.js';

/** `matched`: the chain holds the checkpointed entry. `missing`: no entry has its seq (truncated). `mismatch`: the entry there differs (rewritten). */
export type CheckpointStatus = 'matched' | 'missing' | 'mismatch' | 'bad_signature' | 'other_tenant';

/** What verification found for one tenant. */
export interface AuditVerification {
  tenant: string;
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string } | null;
  /** The first entry that breaks the chain: its content does not give its hash, or it does not follow the entry before it. */
  broken: { seq: number; id: string; problem: 'hash' | 'link' } | null;
  checkpoint: { seq: number; hash: string; at: number; status: CheckpointStatus } | null;
}

/** Walks the tenant's chain oldest first (pages of `pageSize`) and checks it against `checkpoint` when given. */
export async function verifyAudit(
  store: DeviceStore,
  tenantId: string,
  checkpoint: AuditCheckpoint | undefined,
  publicKey: KeyObject | string | undefined,
  pageSize = 1000,
): Promise<AuditVerification> {
  let previous = '';
  let entries = 0;
  let head: AuditVerification['head'] = null;
  let broken: AuditVerification['broken'] = null;
  let atCheckpoint: string | undefined;
  for (let after = 0; ;) {
    const page = await store.auditChain(tenantId, after, pageSize);
    for (const entry of page) {
      entries += 1;
      if (!broken && entry.prevHash !== previous) broken = { seq: entry.seq, id: entry.id, problem: 'link' };
      if (!broken && auditHash(entry) !== entry.hash) broken = { seq: entry.seq, id: entry.id, problem: 'hash' };
      if (checkpoint && entry.seq === checkpoint.seq) atCheckpoint = entry.hash;
      previous = entry.hash;
      head = { seq: entry.seq, hash: entry.hash };
    }
    if (page.length < pageSize) break;
    after = page.at(-1)!.seq;
  }
  let status: CheckpointStatus | undefined;
  if (checkpoint) {
    if (checkpoint.tenant !== tenantId) status = 'other_tenant';
    else if (publicKey !== undefined && !checkpointSigned(checkpoint, publicKey)) status = 'bad_signature';
    else if (atCheckpoint === undefined) status = 'missing';
    else status = atCheckpoint === checkpoint.hash ? 'matched' : 'mismatch';
  }
  return {
    tenant: tenantId,
    ok: broken === null && (status === undefined || status === 'matched'),
    entries,
    head,
    broken,
    checkpoint: checkpoint && status ? { seq: checkpoint.seq, hash: checkpoint.hash, at: checkpoint.at, status } : null,
  };
}
