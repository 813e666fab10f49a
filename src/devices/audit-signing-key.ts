/**
 * The key that signs audit checkpoints: Ed25519, kept in a file outside the database (by default
 * `<home>/audit-signing.key`, mode 0600, made on first start) with its public half beside it
 * (`.pub`), which the operator copies to wherever checkpoints are checked. Whoever can change the
 * database but not read this file cannot make a checkpoint for a rewritten chain.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** A loaded signing key. */
export interface AuditSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key in PEM (SPKI). */
  publicPem: string;
  /** The first 16 hex digits of the sha256 of the public key's DER: names the key in every checkpoint. */
  keyId: string;
}

/** The id checkpoints name a public key by. */
export function publicKeyId(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/** Reads the private key at `path` (PKCS#8 PEM), making it (and `path.pub`) when there is none. */
export function loadAuditSigningKey(path: string): AuditSigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`Cannot read the audit signing key ${path}: ${(error as Error).message}`);
    privateKey = generateKeyPairSync('ed25519').privateKey;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`The audit signing key ${path} is not an Ed25519 key; remove it to have a new one made.`);
  const publicKey = createPublicKey(privateKey);
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  writeFileSync(`${path}.pub`, publicPem, { mode: 0o644 });
  return { privateKey, publicKey, publicPem, keyId: publicKeyId(publicKey) };
}
