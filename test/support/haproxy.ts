/**
 * Debian's haproxy in front of control planes, as an operator runs it: round-robin, a health check
 * on `/readyz` every 250 ms (out after three failures), and a request whose control plane refuses the connection (or closes it
 * before answering) tried on the next one (`retry-on conn-failure empty-response`, `option
 * redispatch`). An answer that has begun is never retried: its client sees the broken connection.
 * Each answer names the server that gave it in `x-upstream` (`p0`, `p1`, ...: the index of its
 * address). CI installs haproxy (.ci/run); elsewhere a test without it says so and skips, except
 * under CI=true.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The haproxy binary on PATH or in Debian's /usr/sbin, or undefined. */
export function haproxyBinary(): string | undefined {
  for (const candidate of ['haproxy', '/usr/sbin/haproxy']) if (spawnSync(candidate, ['-v']).status === 0) return candidate;
  return undefined;
}

/** True when tests needing haproxy must be skipped; throws under CI=true. */
export function skipWithoutHaproxy(): boolean {
  if (haproxyBinary()) return false;
  const message = 'haproxy is not installed (apt-get install -y haproxy): the load-balanced control-plane tests are skipped.';
  if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure (.ci/run installs it).`);
  console.warn(message);
  return true;
}

/** A port free now on 127.0.0.1 (for a process that cannot be told to pick one and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Haproxy {
  url: string;
  child: ChildProcess;
  close(): Promise<void>;
}

/** haproxy's configuration for `upstreams` (base URLs) behind `port`. */
export function haproxyConfig(port: number, upstreams: readonly string[]): string {
  const servers = upstreams.map((upstream, index) => `  server p${index} ${new URL(upstream).host}`);
  return [
    'global',
    '  maxconn 2000',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 120s',
    '  timeout server 120s',
    '  timeout queue 10s',
    // A loaded control plane may take a while to answer /readyz; only a dead one is taken out.
    '  timeout check 2s',
    // A refused or dropped connection is tried again, each time on another server.
    '  retries 3',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response',
    'frontend api',
    `  bind 127.0.0.1:${port}`,
    '  default_backend planes',
    'backend planes',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  default-server check inter 250 fall 3 rise 1',
    '  http-response set-header x-upstream %[srv_name]',
    ...servers,
    '',
  ].join('\n');
}

/** Starts haproxy in the foreground over `upstreams`; resolves once it accepts connections. */
export async function startHaproxy(upstreams: readonly string[]): Promise<Haproxy> {
  const binary = haproxyBinary();
  if (!binary) throw new Error('haproxy is not installed (apt-get install -y haproxy)');
  const folder = mkdtempSync(join(tmpdir(), 'nimbus-haproxy-'));
  const port = await freePort();
  writeFileSync(join(folder, 'haproxy.cfg'), haproxyConfig(port, upstreams));
  const child = spawn(binary, ['-db', '-f', join(folder, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr?.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`haproxy did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    async close() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
