/**
 * PostgreSQL and Redis for the tests that need them (127.0.0.1:5432, database `test`, trust
 * auth; 127.0.0.1:6379). Where one is absent those tests say so and skip, except under CI=true,
 * where its absence is a failure. Each run works in schemas or databases of its own.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

export const postgresUrl = process.env.NIMBUS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const redisUrl = process.env.NIMBUS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A name no other run uses: `prefix` + time + random. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

function absent(service: string, reason: string): true {
  const message = `${service} is not reachable (${reason}): tests that need it are skipped.`;
  if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure.`);
  console.warn(message);
  return true;
}

/** True when PostgreSQL tests must be skipped; throws under CI=true. */
export async function skipWithoutPostgres(): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return false;
  } catch (error) {
    return absent(`PostgreSQL at ${postgresUrl}`, (error as Error).message);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** True when Redis tests must be skipped; throws under CI=true. */
export async function skipWithoutRedis(): Promise<boolean> {
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return false;
  } catch (error) {
    return absent(`Redis at ${redisUrl}`, (error as Error).message);
  } finally {
    redis.disconnect();
  }
}

/** Drops schemas this run created (they hold every table of a store). */
export async function dropSchemas(names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    for (const name of names) await client.query(`drop schema if exists ${name} cascade`);
  } finally {
    await client.end();
  }
}

/** A fresh database for processes that take a URL; `drop` removes it (after they exit). */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = uniqueName('nimbus_test');
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}
