/**
 * API keys: `nmb_` and 32 random bytes (base64url), shown once at creation and stored only as
 * a sha256 hash. A hash of a high-entropy secret needs no salt or slow KDF: nobody can guess
 * the preimage, and lookups stay one indexed read.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** What every Nimbus key starts with, so a leaked one is recognisable (secret scanners, logs). */
export const apiKeyPrefix = 'nmb_';
const secretBytes = 32;
const keyPattern = /^nmb_[A-Za-z0-9_-]{43}$/;
/** Characters of the key kept for listing: the prefix and 8 of the secret (48 of its 256 bits). */
const shownLength = apiKeyPrefix.length + 8;

/** A freshly generated key: `key` goes to the client once; `hash` and `prefix` are stored. */
export interface GeneratedApiKey {
  key: string;
  hash: string;
  prefix: string;
}

/** Generates a new key. */
export function generateApiKey(): GeneratedApiKey {
  const key = `${apiKeyPrefix}${randomBytes(secretBytes).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, shownLength) };
}

/** The stored form of a key: sha256, hex. */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** Whether a token has the shape of a Nimbus key (checked before any lookup). */
export function looksLikeApiKey(token: string): boolean {
  return keyPattern.test(token);
}

/** Compares two hex hashes in constant time. */
export function hashesEqual(left: string, right: string): boolean {
  const a = Buffer.from(left, 'hex');
  const b = Buffer.from(right, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer TOKEN` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
