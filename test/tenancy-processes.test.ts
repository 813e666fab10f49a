/**
 * Two control-plane processes (`nimbus serve`, built) on one PostgreSQL and one Redis: a budget
 * is shared exactly, a key revoked through one is refused by both within a second, the CLI
 * manages both over HTTP, and no key or key hash ever reaches a log line. Also: a server on a
 * public address with no key refuses to start.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, redisUrl, skipWithoutPostgres, skipWithoutRedis, uniqueName } from './support/services.js';
import { killNimbusProcesses, startNimbusProcess, waitReady, type NimbusProcess } from './support/nimbus-process.js';
import { repoRoot, skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const cli = join(repoRoot, 'dist', 'cli', 'main.js');
const skip = skipWithoutSharedModel() || (await skipWithoutPostgres()) || (await skipWithoutRedis());

interface Answer<T> {
  status: number;
  body: T;
}

/** One JSON call to a server's HTTP API with a key (or none). */
async function api<T = unknown>(url: string, key: string | undefined, method: string, path: string, body?: unknown): Promise<Answer<T>> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/** One 8-token completion: priced at $1 per million output tokens, it reserves and costs 8e-6 dollars. */
function complete(url: string, key: string): Promise<Answer<{ id?: string; error?: { code: string }; usage?: { completion_tokens: number } }>> {
  return api(url, key, 'POST', '/v1/completions', { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
}

/** Runs the built CLI against a server; returns its exit code and output. */
function nimbus(args: string[], url: string, key: string | undefined): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, NIMBUS_URL: url, NIMBUS_API_KEY: key ?? '' }, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

afterAll(killNimbusProcesses);

test('a server on a public address with no key refuses to start, and says how to fix it', async () => {
  const home = mkdtempSync(join(tmpdir(), 'nimbus-public-'));
  const child = spawn(process.execPath, [cli, 'serve', '--host', '0.0.0.0', '--port', '0', '--home', home, '--gpu', 'cpu'], {
    env: { ...process.env, NIMBUS_HF_ENDPOINT: 'http://127.0.0.1:9' },
  });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(code).toBe(1);
  expect(output).toContain('Refusing to start on 0.0.0.0');
  expect(output).toContain('nimbus keys create --admin');
  expect(output).not.toContain('Nimbus listening');
});

describe.skipIf(skip)('two control-plane processes on one PostgreSQL and one Redis', () => {
  let database: { url: string; drop(): Promise<void> };
  let first: NimbusProcess;
  let second: NimbusProcess;
  let operator: string;
  const secrets: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    const configFile = join(mkdtempSync(join(tmpdir(), 'nimbus-config-')), 'nimbus.json');
    // $1 per million output tokens and nothing for input: a request costs exactly max_tokens x 1000 nano-dollars.
    writeFileSync(configFile, JSON.stringify({ prices: { stories260K: { input: 0, output: 1 } } }));
    const args = ['--model', storiesPath!, '--threads', '1', '--ctx', '512', '--slots', '4', '--max-queue', '256', '--log-level', 'debug'];
    const environment = { NIMBUS_CONFIG: configFile, NIMBUS_DATABASE_URL: database.url, NIMBUS_REDIS_URL: redisUrl };
    first = await startNimbusProcess(args, environment);
    expect(first.output()).toContain('local mode');
    await waitReady(first.url);
    // Local mode on a fresh database: the first key is created without one, and ends local mode.
    const created = nimbus(['keys', 'create', '--admin', '--name', 'operator'], first.url, undefined);
    expect(created.code, created.stderr).toBe(0);
    operator = created.stdout.trim();
    secrets.push(operator);
    second = await startNimbusProcess(args, environment);
    expect(second.output()).toContain('API keys required');
    await waitReady(second.url);
  }, 180_000);

  afterAll(async () => {
    for (const server of [first, second]) server?.child.kill('SIGTERM');
    await Promise.all(
      [first, second].map((server) => server && new Promise((resolve) => (server.child.exitCode === null ? server.child.on('exit', resolve) : resolve(null)))),
    );
    await database?.drop();
  });

  test('the CLI manages tenants and keys over HTTP, on either process', () => {
    const tenant = nimbus(['tenants', 'create', 'cli-test', '--name', 'CLI test', '--rpm', '100', '--cost-per-day', '2.5'], first.url, operator);
    expect(tenant.code, tenant.stderr).toBe(0);
    expect(tenant.stdout).toMatch(/cli-test\s+CLI test\s+.*requests_per_minute=100 cost_per_day_usd=2.5/);
    const key = nimbus(
      ['keys', 'create', '--tenant', 'cli-test', '--name', 'laptop', '--models', 'stories260K', '--expires', '30d', '--tpm', '5000'],
      second.url,
      operator,
    );
    expect(key.code, key.stderr).toBe(0);
    expect(key.stdout.trim()).toMatch(/^nmb_[A-Za-z0-9_-]{43}$/);
    expect(key.stderr).toContain('shown only once');
    secrets.push(key.stdout.trim());
    const listed = nimbus(['keys', 'list', '--tenant', 'cli-test'], first.url, operator);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/key_\w+\s+cli-test\s+laptop\s+nmb_\S+\.\.\.\s+active\s+inference models=stories260K/);
    expect(listed.stdout).not.toContain(key.stdout.trim());
    expect(nimbus(['tenants'], second.url, operator).stdout).toContain('cli-test');
    const keyId = /key_\w+/.exec(listed.stdout)![0];
    const revoked = nimbus(['keys', 'revoke', keyId], second.url, operator);
    expect([revoked.code, revoked.stdout]).toEqual([0, expect.stringContaining(`revoked ${keyId}`)]);
    const usage = nimbus(['usage', '--by', 'tenant,model', '--csv'], first.url, operator);
    expect(usage.code, usage.stderr).toBe(0);
    expect(usage.stdout.split('\n')[0]).toBe('tenant,model,requests,prompt_tokens,cached_tokens,completion_tokens,total_tokens,compute_seconds,cost_usd');
    const refused = nimbus(['tenants', 'create', 'x'], first.url, key.stdout.trim());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('admin');
    const bad = nimbus(['keys', 'create', '--name', 'x', '--rpm', 'lots'], first.url, operator);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining('--rpm takes a number')]);
    expect(nimbus(['keys'], first.url, operator).code).toBe(2);
    const unreachable = nimbus(['tenants'], 'http://127.0.0.1:9', operator);
    expect([unreachable.code, unreachable.stderr]).toEqual([1, expect.stringContaining('cannot reach Nimbus at http://127.0.0.1:9')]);
  });

  test('a budget is shared exactly: 200 requests across both, exactly 9 served, spend equals what was served', async () => {
    const tenant = uniqueName('budget').replaceAll('_', '-');
    expect((await api(first.url, operator, 'POST', '/v1/tenants', { id: tenant, limits: { cost_per_day_usd: 9 * 8e-6 } })).status).toBe(201);
    const key = (await api<{ key: string; id: string }>(second.url, operator, 'POST', '/v1/keys', { tenant, name: 'crowd' })).body;
    secrets.push(key.key);
    const results = await Promise.all(Array.from({ length: 200 }, (_, index) => complete(index % 2 ? first.url : second.url, key.key)));
    const served = results.filter((result) => result.status === 200);
    expect(served).toHaveLength(9);
    expect(results.filter((result) => result.status === 429 && result.body.error?.code === 'insufficient_quota')).toHaveLength(191);
    const servedTokens = served.reduce((sum, result) => sum + result.body.usage!.completion_tokens, 0);
    expect(servedTokens).toBe(72);
    // Both processes write the ledger in batches; the sum over both is what was served, whichever one is asked.
    // Polled until both have written their rows (up to 20 s: on a busy machine a batch can take seconds).
    let usage: Array<{ requests: number; completion_tokens: number; cost_usd: number }> = [];
    for (let attempt = 0, deadline = Date.now() + 20_000; Date.now() < deadline; attempt += 1) {
      usage = (await api<{ data: typeof usage }>(attempt % 2 ? first.url : second.url, operator, 'GET', `/v1/usage?tenant=${tenant}`)).body.data;
      if (usage[0]?.requests === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(usage).toEqual([expect.objectContaining({ requests: 200, completion_tokens: servedTokens })]);
    expect(usage[0]!.cost_usd).toBeCloseTo(servedTokens * 1e-6, 12);
    expect((await complete(first.url, key.key)).body.error?.code).toBe('insufficient_quota');
    expect((await complete(second.url, key.key)).body.error?.code).toBe('insufficient_quota');
  });

  test('a key revoked through one process is refused by both within a second', async () => {
    const key = (await api<{ key: string; id: string }>(first.url, operator, 'POST', '/v1/keys', { name: 'doomed' })).body;
    secrets.push(key.key);
    // Both have it cached now.
    expect((await complete(first.url, key.key)).status).toBe(200);
    expect((await complete(second.url, key.key)).status).toBe(200);
    expect((await api(second.url, operator, 'DELETE', `/v1/keys/${key.id}`)).status).toBe(200);
    const revokedAt = performance.now();
    const refusedWithin = async (url: string): Promise<number> => {
      for (;;) {
        const response = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key.key}` } });
        if (response.status === 401) return performance.now() - revokedAt;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const [onFirst, onSecond] = await Promise.all([refusedWithin(first.url), refusedWithin(second.url)]);
    expect(onFirst).toBeLessThan(1000);
    expect(onSecond).toBeLessThan(1000);
  });

  test('no key, and no key hash, appears in any log line of either process', async () => {
    // Give the logs something to say: bad keys, a revoked key, refusals, admin calls.
    await api(first.url, 'nmb_' + 'x'.repeat(43), 'GET', '/v1/models');
    await api(second.url, `${operator}x`, 'GET', '/v1/keys');
    await api(first.url, secrets[secrets.length - 1], 'POST', '/v1/completions', { model: 'stories260K', prompt: 'x', max_tokens: 1 });
    await api(second.url, operator, 'GET', '/v1/keys');
    // A barrier, not a fixed wait: access lines go out in batches, in order, so once a last
    // request's line is out on each process, every line before it is too.
    for (const server of [first, second]) {
      const barrier = await complete(server.url, operator);
      expect(barrier.status).toBe(200);
      for (const deadline = Date.now() + 10_000; !server.output().includes(barrier.body.id!) && Date.now() < deadline;)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(server.output()).toContain(barrier.body.id!);
    }
    const logs = first.output() + second.output();
    expect(logs.split('\n').length).toBeGreaterThan(20);
    for (const secret of secrets) {
      const hash = createHash('sha256').update(secret).digest('hex');
      expect(logs).not.toContain(secret);
      expect(logs).not.toContain(secret.slice(4));
      expect(logs).not.toContain(hash);
      expect(logs).not.toContain(hash.slice(0, 16));
    }
  });
});
