/**
 * Bootstrap from the environment with real processes on a fresh PostgreSQL database: three
 * control planes started at once with one NIMBUS_ADMIN_KEY and one NIMBUS_JOIN_TOKEN store each
 * once, as its sha256 only; the key works on all three (and local mode is off), the token admits
 * a worker's join; a malformed value stops the start with how to make a good one.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { killNimbusProcesses, startNimbusProcess, type NimbusProcess } from './support/nimbus-process.js';
import { createTestDatabase, skipWithoutPostgres } from './support/services.js';

const adminKey = `nmb_${randomBytes(32).toString('base64url')}`;
const joinToken = `nmj_${randomBytes(32).toString('base64url')}`;
let database: { url: string; drop(): Promise<void> } | undefined;
const planes: NimbusProcess[] = [];

beforeAll(async () => {
  if (await skipWithoutPostgres()) return;
  database = await createTestDatabase();
}, 30_000);

afterAll(async () => {
  killNimbusProcesses();
  await new Promise((resolve) => setTimeout(resolve, 500));
  await database?.drop();
});

describe('bootstrap from the environment', () => {
  test('three control planes starting at once store the admin key and the join token once each, hashed', async (context) => {
    if (!database) return context.skip();
    const environment = { NIMBUS_DATABASE_URL: database.url, NIMBUS_ADMIN_KEY: adminKey, NIMBUS_JOIN_TOKEN: joinToken };
    planes.push(...(await Promise.all([1, 2, 3].map(() => startNimbusProcess([], environment)))));
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const keys = await client.query('select id, hash, prefix from api_keys');
      expect(keys.rows).toHaveLength(1);
      expect(keys.rows[0].id).toMatch(/^key_env_/);
      expect(keys.rows[0].hash).toMatch(/^[0-9a-f]{64}$/);
      const tokens = await client.query('select id, hash from pool_join_tokens');
      expect(tokens.rows).toHaveLength(1);
      // Only hashes: neither secret is anywhere in the database's rows.
      const everything = JSON.stringify([...keys.rows, ...tokens.rows]);
      expect(everything).not.toContain(adminKey.slice(4));
      expect(everything).not.toContain(joinToken.slice(4));
    } finally {
      await client.end();
    }
    for (const plane of planes) {
      const listed = await fetch(`${plane.url}/v1/keys`, { headers: { authorization: `Bearer ${adminKey}` } });
      expect(listed.status).toBe(200);
      // A key exists, so local mode is off: no key, no answer.
      expect((await fetch(`${plane.url}/v1/keys`)).status).toBe(401);
    }
    const hardware = { cpuModel: 'Test CPU', cores: 2, ramTotalBytes: 2 ** 33, ramFreeBytes: 2 ** 33, gpus: [] };
    const joined = await fetch(`${planes[2]!.url}/v1/pool/workers/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: joinToken, name: 'w-boot', endpoint: 'http://127.0.0.1:9', hardware }),
    });
    expect(joined.status).toBe(200);
    expect(((await joined.json()) as { credential: string }).credential).toMatch(/^nmw_/);
    // A fourth start later adds nothing either.
    const later = await startNimbusProcess([], environment);
    expect(later.output()).toMatch(/NIMBUS_ADMIN_KEY: key key_env_\w+ is in the store/);
  }, 120_000);

  test('a malformed admin key stops the start with how to make one', async (context) => {
    if (!database) return context.skip();
    await expect(startNimbusProcess([], { NIMBUS_DATABASE_URL: database.url, NIMBUS_ADMIN_KEY: 'hunter2' })).rejects.toThrow(
      /NIMBUS_ADMIN_KEY is not a Nimbus key: it must be 'nmb_' and 43 base64url characters/,
    );
  }, 60_000);
});
