/**
 * Secrets a control plane can take from its environment, so a fleet starts without a person at a
 * console: `NIMBUS_ADMIN_KEY` (an operator key, `nmb_...`) and `NIMBUS_JOIN_TOKEN` (a worker join
 * token, `nmj_...`; workers read the same variable). Each is stored as its sha256 on first start
 * and never written anywhere else; a later start, or three control planes starting at once, add
 * nothing more: the id is derived from the hash, so concurrent inserts collide on it and the
 * losers find the winner's row. A bootstrap key that was revoked stays revoked (the start says
 * so); rotating means a new value in the environment, then revoking the old key's id.
 */
import { hash } from 'node:crypto';
import type { PoolStore } from './core/pool-store.js';
import type { TenancyStore } from './core/tenancy-store.js';
import { hashApiKey, looksLikeApiKey } from './tenancy/api-key.js';

/** What the start did with each variable, in words for the log. */
export interface BootstrapReport {
  lines: string[];
}

const joinTokenPattern = /^nmj_[A-Za-z0-9_-]{32,}$/;

/** Stores the admin key and join token from `environment` where set; throws in words when one is malformed. */
export async function bootstrapSecrets(
  stores: { tenancy: TenancyStore; pool: PoolStore },
  environment: Readonly<Record<string, string | undefined>>,
  now: number,
): Promise<BootstrapReport> {
  const lines: string[] = [];
  const adminKey = environment.NIMBUS_ADMIN_KEY?.trim();
  if (adminKey) lines.push(await bootstrapAdminKey(stores.tenancy, adminKey, now));
  const joinToken = environment.NIMBUS_JOIN_TOKEN?.trim();
  if (joinToken) lines.push(await bootstrapJoinToken(stores.pool, joinToken, now));
  return { lines };
}

async function bootstrapAdminKey(store: TenancyStore, key: string, now: number): Promise<string> {
  if (!looksLikeApiKey(key)) {
    throw new Error(
      "NIMBUS_ADMIN_KEY is not a Nimbus key: it must be 'nmb_' and 43 base64url characters. " +
        `Make one with: node -e "console.log('nmb_' + require('crypto').randomBytes(32).toString('base64url'))"`,
    );
  }
  const keyHash = hashApiKey(key);
  const id = `key_env_${keyHash.slice(0, 16)}`;
  const found = await store.findApiKeyByHash(keyHash);
  if (found)
    return found.revokedAt === null ? `NIMBUS_ADMIN_KEY: key ${found.id} is in the store` : `NIMBUS_ADMIN_KEY: key ${found.id} was revoked and stays revoked`;
  try {
    await store.createApiKey({
      id,
      tenantId: 'default',
      name: 'operator (NIMBUS_ADMIN_KEY)',
      prefix: key.slice(0, 12),
      hash: keyHash,
      scopes: { inference: true, admin: true, models: '*', devices: '*' },
      limits: {},
      createdAt: now,
      expiresAt: null,
      revokedAt: null,
    });
  } catch (error) {
    // Another control plane starting at the same time stored it first.
    if (!(await store.findApiKeyByHash(keyHash))) throw error;
    return `NIMBUS_ADMIN_KEY: key ${id} is in the store`;
  }
  return `NIMBUS_ADMIN_KEY: stored operator key ${id} (its sha256 only)`;
}

async function bootstrapJoinToken(store: PoolStore, token: string, now: number): Promise<string> {
  if (!joinTokenPattern.test(token)) {
    throw new Error(
      "NIMBUS_JOIN_TOKEN is not a join token: it must be 'nmj_' and at least 32 base64url characters. " +
        `Make one with: node -e "console.log('nmj_' + require('crypto').randomBytes(32).toString('base64url'))"`,
    );
  }
  const tokenHash = hash('sha256', token, 'hex');
  const id = `jt_env_${tokenHash.slice(0, 12)}`;
  if (await store.findJoinToken(tokenHash)) return `NIMBUS_JOIN_TOKEN: join token ${id} is in the store`;
  try {
    await store.createJoinToken({ id, hash: tokenHash, createdAt: now, expiresAt: null });
  } catch (error) {
    if (!(await store.findJoinToken(tokenHash))) throw error;
    return `NIMBUS_JOIN_TOKEN: join token ${id} is in the store`;
  }
  return `NIMBUS_JOIN_TOKEN: stored join token ${id} (its sha256 only)`;
}
