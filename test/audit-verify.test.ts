/**
 * Issue 18, item 5: the audit chain can be checked, and rewriting or truncating it is detected.
 * Through real `nimbus serve` processes: signed checkpoints of the chain head are written at start
 * (a chain without one gets its first) and at shutdown, to a file and the log; `nimbus audit
 * verify` checks the chain against the latest checkpoint the operator kept elsewhere and finds an
 * edited entry, a chain re-hashed after an edit, and a truncated one. Two processes writing one
 * PostgreSQL database concurrently keep one chain (the link is unique).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, describe, expect, test } from 'vitest';
import { auditHash } from '../src/devices/audit-chain.js';
import { simCatalog } from '../src/devices/sim/sim-catalog.js';
import { killDeviceProcesses, registerDevice, startDeviceProcess, type DeviceProcess } from './support/device-process.js';
import { callJson } from './support/json-api.js';
import { createTestDatabase, skipWithoutPostgres } from './support/services.js';
import { repoRoot } from './support/shared-model.js';

afterAll(killDeviceProcesses);

const cli = join(repoRoot, 'dist', 'cli', 'main.js');

function nimbus(url: string, key: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, NIMBUS_URL: url, NIMBUS_API_KEY: key } }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

interface Row {
  seq: number;
  id: string;
  at: number;
  tenant_id: string;
  event: string;
  actor: string;
  key_id: string | null;
  model: string | null;
  conversation: string | null;
  source: string;
  device_id: string | null;
  command_id: string | null;
  approval_id: string | null;
  detail: string;
  prev_hash: string;
  hash: string;
}

/** An attacker who can write the database but has no signing key: edits an entry and re-hashes every entry after it. */
function rechain(database: string): void {
  const db = new SQLite(database);
  const rows = db.prepare(`select * from audit_log where tenant_id = 'default' order by seq`).all() as Row[];
  let previous = '';
  const update = db.prepare('update audit_log set detail = ?, prev_hash = ?, hash = ? where seq = ?');
  for (const [index, row] of rows.entries()) {
    const detail = index === 1 ? JSON.stringify({ ...JSON.parse(row.detail), created: false, forged: true }) : row.detail;
    const entry = {
      id: row.id,
      at: Number(row.at),
      tenantId: row.tenant_id,
      event: row.event as never,
      actor: row.actor,
      keyId: row.key_id,
      model: row.model,
      conversation: row.conversation,
      source: row.source,
      deviceId: row.device_id,
      commandId: row.command_id,
      approvalId: row.approval_id,
      detail: JSON.parse(detail) as Record<string, unknown>,
      prevHash: previous,
    };
    const hash = auditHash(entry);
    update.run(detail, previous, hash, row.seq);
    previous = hash;
  }
  db.close();
}

describe('one server on SQLite', () => {
  let server: DeviceProcess;
  let operator: string;
  const kept = join(mkdtempSync(join(tmpdir(), 'nimbus-kept-')), 'checkpoints.jsonl');
  afterAll(async () => server?.stop());

  test('checkpoints are signed at start and at shutdown, and verify passes on an untouched chain', async () => {
    server = await startDeviceProcess(['--mqtt-port', '0']);
    operator = (await callJson(server.url, 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true, devices: '*' } })).body.key as string;
    for (const id of ['lamp-1', 'lamp-2', 'lamp-3']) await registerDevice(server.url, operator, id, simCatalog.lamp.model);
    expect((await callJson(server.url, 'POST', '/v1/estop', { reason: 'drill' }, operator)).status).toBe(200);
    await server.stop();
    const file = join(server.home, 'audit-checkpoints.jsonl');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const last = JSON.parse(lines.at(-1)!) as { tenant: string; seq: number; signature: string };
    expect(last).toMatchObject({ object: 'audit.checkpoint', tenant: 'default', seq: 4 });
    expect(server.output()).toContain('"msg":"audit checkpoint"');
    expect(statSync(join(server.home, 'audit-signing.key')).mode & 0o777).toBe(0o600);
    // The operator ships the checkpoints elsewhere; the attacker below can touch the database only.
    copyFileSync(file, kept);
    copyFileSync(join(server.home, 'nimbus.db'), join(server.home, 'untouched.db'));

    server = await startDeviceProcess(['--mqtt-port', '0'], { home: server.home });
    const verified = await nimbus(server.url, operator, 'audit', 'verify', '--checkpoints', kept, '--public-key', join(server.home, 'audit-signing.key.pub'));
    expect(verified.stdout).toContain("audit chain of 'default': 4 entries, head seq 4");
    expect(verified.stdout).toContain('checkpoint seq 4');
    expect([verified.code, verified.stdout]).toEqual([0, expect.stringContaining('verified')]);
    const api = await callJson(server.url, 'GET', '/v1/audit/verify', undefined, operator);
    expect(api.body).toMatchObject({ object: 'audit.verification', ok: true, entries: 4, broken: null, checkpoint: { seq: 4, status: 'matched' } });
    expect((await callJson(server.url, 'GET', '/v1/audit/verify', undefined, 'nmb_nobody')).status).toBe(401);
  }, 60_000);

  test('an edited entry, a re-hashed chain and a truncated one are each detected', async () => {
    const database = join(server.home, 'nimbus.db');
    const verify = async (): Promise<{ code: number; stdout: string }> => {
      server = await startDeviceProcess(['--mqtt-port', '0'], { home: server.home });
      const result = await nimbus(server.url, operator, 'audit', 'verify', '--checkpoints', kept);
      await server.stop();
      return result;
    };
    // Edited in place: the entry's hash no longer covers its content.
    await server.stop();
    const edit = new SQLite(database);
    edit.prepare(`update audit_log set detail = '{"created":false}' where seq = 2`).run();
    edit.close();
    const edited = await verify();
    expect([edited.code, edited.stdout]).toEqual([1, expect.stringContaining('BROKEN at seq 2')]);

    // Re-hashed after the edit: the chain is consistent again, but not with the checkpoint.
    copyFileSync(join(server.home, 'untouched.db'), database);
    rechain(database);
    const rehashed = await verify();
    expect(rehashed.stdout).not.toContain('BROKEN');
    expect([rehashed.code, rehashed.stdout]).toEqual([1, expect.stringContaining('MISMATCH')]);
    // The server did not sign over the rewritten chain either.
    expect(server.output()).toContain('no longer holds its checkpointed entry');

    // Truncated: the checkpointed entry is gone.
    copyFileSync(join(server.home, 'untouched.db'), database);
    const cut = new SQLite(database);
    cut.prepare('delete from audit_log where seq >= 3').run();
    cut.close();
    const truncated = await verify();
    expect([truncated.code, truncated.stdout]).toEqual([1, expect.stringContaining('MISSING')]);
  }, 90_000);

  test('a chain from before checkpoints gets its first one at start', async () => {
    copyFileSync(join(server.home, 'untouched.db'), join(server.home, 'nimbus.db'));
    rmSync(join(server.home, 'audit-checkpoints.jsonl'));
    rmSync(join(server.home, 'audit-signing.key'));
    server = await startDeviceProcess(['--mqtt-port', '0'], { home: server.home });
    const file = join(server.home, 'audit-checkpoints.jsonl');
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8').trim())).toMatchObject({ tenant: 'default', seq: 4 });
    expect((await callJson(server.url, 'GET', '/v1/audit/verify', undefined, operator)).body).toMatchObject({
      ok: true,
      checkpoint: { seq: 4, status: 'matched' },
    });
  }, 60_000);
});

describe('two servers on one PostgreSQL', () => {
  test('concurrent writers keep one chain', async (context) => {
    if (await skipWithoutPostgres()) return context.skip();
    const database = await createTestDatabase();
    try {
      const environment = { NIMBUS_DATABASE_URL: database.url };
      const first = await startDeviceProcess(['--mqtt-port', '0'], { environment });
      const operator = (await callJson(first.url, 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true, devices: '*' } })).body.key as string;
      const second = await startDeviceProcess(['--mqtt-port', '0'], { environment });
      const writes = Array.from({ length: 20 }, (_, index) =>
        [first, second].map((server) => registerDevice(server.url, operator, `${server === first ? 'a' : 'b'}-${index}`, simCatalog.lamp.model)),
      );
      await Promise.all(writes.flat());
      for (const server of [first, second]) {
        const result = await callJson(server.url, 'GET', '/v1/audit/verify', undefined, operator);
        expect(result.body).toMatchObject({ ok: true, entries: 40, broken: null });
      }
      await Promise.all([first.stop(), second.stop()]);
    } finally {
      await database.drop();
    }
  }, 90_000);
});
