/**
 * A checkpoint: a tenant's chain head (the last entry's `seq` and `hash`) at a time, signed with
 * the audit signing key. Checked against the chain (`audit-verify.ts`), it turns a rewrite of
 * anything up to that entry (even one that recomputes every hash after it) and a truncation of it
 * into a mismatch; what came after the latest checkpoint is covered only by the hash chain.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { AuditHead } from '../core/device-store.js';
import { canonicalJson } from './canonical-json.js';
import { publicKeyId, type AuditSigningKey } from './audit-signing-key.js';

/** One signed checkpoint, as written to the checkpoint file and the log (one JSON line). */
export interface AuditCheckpoint {
  object: 'audit.checkpoint';
  tenant: string;
  seq: number;
  hash: string;
  /** Unix ms when it was signed. */
  at: number;
  /** Which public key verifies it (`publicKeyId`). */
  key: string;
  /** Ed25519 over the canonical JSON of every other field, base64. */
  signature: string;
}

function signedPart(checkpoint: Omit<AuditCheckpoint, 'signature'>): Buffer {
  const { object, tenant, seq, hash, at, key } = checkpoint;
  return Buffer.from(canonicalJson({ object, tenant, seq, hash, at, key }));
}

/** Signs a chain head. */
export function signCheckpoint(head: AuditHead, key: AuditSigningKey, at: number): AuditCheckpoint {
  const unsigned = { object: 'audit.checkpoint' as const, tenant: head.tenantId, seq: head.seq, hash: head.hash, at, key: key.keyId };
  return { ...unsigned, signature: sign(null, signedPart(unsigned), key.privateKey).toString('base64') };
}

/** Whether `value` is a checkpoint in form, and signed by `publicKey` (a KeyObject or PEM). */
export function checkpointSigned(value: AuditCheckpoint, publicKey: KeyObject | string): boolean {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  if (value.key !== publicKeyId(key)) return false;
  try {
    return verify(null, signedPart(value), key, Buffer.from(value.signature, 'base64'));
  } catch {
    return false;
  }
}

/** A checkpoint parsed from JSON, or undefined when it is not one. */
export function parseCheckpoint(value: unknown): AuditCheckpoint | undefined {
  const candidate = value as Partial<AuditCheckpoint> | null;
  if (!candidate || typeof candidate !== 'object' || candidate.object !== 'audit.checkpoint') return undefined;
  const { tenant, seq, hash, at, key, signature } = candidate;
  if (typeof tenant !== 'string' || typeof hash !== 'string' || typeof key !== 'string' || typeof signature !== 'string') return undefined;
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(at)) return undefined;
  return { object: 'audit.checkpoint', tenant, seq: seq!, hash, at: at!, key, signature };
}

/** The latest checkpoint of each tenant among JSON lines (a checkpoint file; other lines are skipped). */
export function latestCheckpoints(lines: string): Map<string, AuditCheckpoint> {
  const latest = new Map<string, AuditCheckpoint>();
  for (const line of lines.split('\n')) {
    if (!line.trim()) continue;
    let parsed: AuditCheckpoint | undefined;
    try {
      const value = JSON.parse(line) as Record<string, unknown>;
      // A log line carries the checkpoint in its `checkpoint` field.
      parsed = parseCheckpoint(value.checkpoint ?? value);
    } catch {
      continue;
    }
    if (!parsed) continue;
    const known = latest.get(parsed.tenant);
    if (!known || parsed.seq > known.seq || (parsed.seq === known.seq && parsed.at >= known.at)) latest.set(parsed.tenant, parsed);
  }
  return latest;
}
