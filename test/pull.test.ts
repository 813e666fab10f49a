/**
 * The model cache and downloader against a local stand-in for Hugging Face: a real HTTP server on
 * a real port (the port and the bytes on the wire are the point), serving a generated GGUF-looking
 * file with HF's conventions (HEAD with x-linked-size/x-linked-etag, a redirect to a CDN origin,
 * Range support) and knobs to misbehave.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { modelsCommand } from '../src/cli/models.js';
import { pullCommand } from '../src/cli/pull.js';
import { downloadFile } from '../src/models/download.js';
import { resolveHfFile } from '../src/models/hub.js';
import { ModelCache } from '../src/models/model-cache.js';

const size = 3 * 1024 * 1024;
const data = seededBytes(size, 42);
const sha256 = createHash('sha256').update(data).digest('hex');
const ref = 'hf:owner/repo/file.gguf';
const small = data.subarray(0, 1000);
const smallSha256 = createHash('sha256').update(small).digest('hex');

/** How the stand-in hub misbehaves in the current test; reset before each. */
interface Behaviour {
  /** Close the connection after this many body bytes, on the first file GET only. */
  cutAfterBytes?: number;
  ignoreRange?: boolean;
  linkedSize?: number;
  linkedEtag?: string;
  /** Never answer the HEAD. */
  hang?: boolean;
}

interface SeenRequest {
  method: string;
  url: string;
  range?: string;
  authorization?: string;
}

let server: Server;
let endpoint: string;
let cdn: string;
let behaviour: Behaviour = {};
let seen: SeenRequest[] = [];
let fileGets = 0;
let home: string;

function seededBytes(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let index = 0; index < length; index += 4) {
    // mulberry32: deterministic, fast, good enough to make every byte position distinct in practice
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    bytes.writeUInt32LE((mixed ^ (mixed >>> 14)) >>> 0, index);
  }
  bytes.write('GGUF', 0, 'ascii');
  return bytes;
}

function handle(request: IncomingMessage, response: ServerResponse): void {
  const url = request.url ?? '/';
  seen.push({ method: request.method ?? '', url, range: request.headers.range, authorization: request.headers.authorization });
  if (url === '/owner/repo/resolve/main/file.gguf') {
    if (behaviour.hang) return;
    // Like Hugging Face for an LFS file: a redirect to another origin, metadata on the redirect.
    response.writeHead(302, {
      location: `${cdn}/cdn/file.gguf`,
      'x-linked-size': String(behaviour.linkedSize ?? size),
      'x-linked-etag': behaviour.linkedEtag ?? `"${sha256}"`,
    });
    response.end();
    return;
  }
  if (url === '/cdn/file.gguf') return serveFile(request, response);
  if (url === '/owner/repo/resolve/main/small.gguf') {
    // A file outside LFS: no x-linked headers, so size and sha256 come from the tree API.
    response.writeHead(200, { 'content-length': small.length });
    response.end(request.method === 'HEAD' ? undefined : small);
    return;
  }
  if (url === '/api/models/owner/repo/tree/main') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify([{ type: 'file', path: 'small.gguf', size: small.length, lfs: { oid: smallSha256, size: small.length, pointerSize: 130 } }]));
    return;
  }
  if (url === '/loop') {
    response.writeHead(302, { location: '/loop' }).end();
    return;
  }
  response.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
}

function serveFile(request: IncomingMessage, response: ServerResponse): void {
  const range = behaviour.ignoreRange ? null : /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
  if (request.method === 'HEAD') {
    response.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' }).end();
    return;
  }
  fileGets += 1;
  if (range) {
    const start = Number(range[1]);
    const end = range[2] ? Number(range[2]) : size - 1;
    if (start >= size) {
      response.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    response.writeHead(206, { 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 });
    response.end(data.subarray(start, end + 1));
    return;
  }
  response.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' });
  if (behaviour.cutAfterBytes !== undefined && fileGets === 1) {
    response.write(data.subarray(0, behaviour.cutAfterBytes), () => response.socket?.destroy());
    return;
  }
  response.end(data);
}

/** A port on which nothing listens. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function newCache(options: { timeoutMs?: number; token?: string } = {}): ModelCache {
  return new ModelCache({ home, endpoint, token: options.token, timeoutMs: options.timeoutMs });
}

beforeAll(async () => {
  server = createServer(handle);
  // No host: dual-stack where the machine has IPv6, so both 127.0.0.1 and localhost reach it.
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as AddressInfo;
  endpoint = `http://127.0.0.1:${port}`;
  cdn = `http://localhost:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(async () => {
  behaviour = {};
  seen = [];
  fileGets = 0;
  home = await mkdtemp(join(tmpdir(), 'nimbus-pull-'));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(home, { recursive: true, force: true });
});

describe('ModelCache with a Hugging Face stand-in', () => {
  test('downloads, verifies and caches a file; a second ensure does not touch the network', async () => {
    const cache = newCache();
    const progress: number[] = [];
    const path = await cache.ensure(ref, { onProgress: (update) => progress.push(update.received) });
    expect(path).toBe(join(home, 'models', 'hf', 'owner', 'repo', 'main', 'file.gguf'));
    expect(
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
    ).toBe(sha256);
    expect(existsSync(`${path}.part`)).toBe(false);
    expect(progress.at(-1)).toBe(size);
    expect(await cache.has(ref)).toBe(true);
    const requestsBefore = seen.length;
    expect(await cache.ensure(ref)).toBe(path);
    expect(seen.length).toBe(requestsBefore);
  });

  test('resumes an interrupted download with a Range request, byte-identical', async () => {
    behaviour.cutAfterBytes = 1024 * 1024;
    const cache = newCache();
    await expect(cache.ensure(ref)).rejects.toThrow(
      /the partial file is kept and re-running the command resumes it.*Run 'nimbus pull hf:owner\/repo\/file.gguf' to try again/,
    );
    const path = cache.localPath(ref);
    expect(existsSync(path)).toBe(false);
    const partial = (await readFile(`${path}.part`)).length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(size);

    expect(await cache.ensure(ref)).toBe(path);
    const gets = seen.filter((request) => request.method === 'GET' && request.url === '/cdn/file.gguf');
    expect(gets.map((request) => request.range)).toEqual([undefined, `bytes=${partial}-`]);
    expect((await readFile(path)).equals(data)).toBe(true);
    expect(existsSync(`${path}.part`)).toBe(false);
  });

  test('a server that ignores Range (200) restarts cleanly from zero', async () => {
    behaviour.ignoreRange = true;
    const cache = newCache();
    const path = cache.localPath(ref);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(`${path}.part`, Buffer.alloc(1000, 0x55)); // bytes that are not a prefix of the file
    await cache.ensure(ref);
    expect(seen.find((request) => request.url === '/cdn/file.gguf')?.range).toBe('bytes=1000-');
    expect((await readFile(path)).equals(data)).toBe(true);
  });

  test('a .part that already holds the whole file is finished after a 416', async () => {
    const destination = join(home, 'whole.gguf');
    await writeFile(`${destination}.part`, data);
    const result = await downloadFile({ url: `${endpoint}/cdn/file.gguf`, destination, expectedSha256: sha256 });
    expect(seen.map((request) => request.range)).toEqual([`bytes=${size}-`]);
    expect(result).toMatchObject({ size, sha256, resumedFrom: size });
    expect((await readFile(destination)).equals(data)).toBe(true);
  });

  test('a sha256 mismatch leaves no final file and no .part', async () => {
    behaviour.linkedEtag = `"${'0'.repeat(64)}"`;
    const cache = newCache();
    await expect(cache.ensure(ref)).rejects.toThrow(
      new RegExp(`sha256 mismatch: expected 0{64} but the file hashes to ${sha256}; the partial file was deleted`),
    );
    expect(existsSync(cache.localPath(ref))).toBe(false);
    expect(existsSync(`${cache.localPath(ref)}.part`)).toBe(false);
  });

  test('a size mismatch leaves no final file and no .part', async () => {
    behaviour.linkedSize = size - 10;
    const cache = newCache();
    await expect(cache.ensure(ref)).rejects.toThrow(`size mismatch: expected ${size - 10} bytes but received ${size}`);
    expect(existsSync(cache.localPath(ref))).toBe(false);
    expect(existsSync(`${cache.localPath(ref)}.part`)).toBe(false);
  });

  test('a 404 says what was not found and what to check', async () => {
    const cache = newCache();
    const missing = 'hf:owner/repo/missing.gguf';
    await expect(cache.ensure(missing)).rejects.toThrow(
      `The model ${missing} could not be downloaded: ${endpoint}/owner/repo/resolve/main/missing.gguf was not found (HTTP 404): check the owner, repository, revision and file name.`,
    );
    expect(existsSync(cache.localPath(missing))).toBe(false);
  });

  test('connection refused names the cause and the commands to retry or use a local file', async () => {
    const port = await closedPort();
    const cache = new ModelCache({ home, endpoint: `http://127.0.0.1:${port}` });
    await expect(cache.ensure(ref)).rejects.toThrow(
      `The model ${ref} could not be downloaded: the connection to 127.0.0.1:${port} was refused (nothing is listening there). Run 'nimbus pull ${ref}' to try again, or serve a local file with 'nimbus serve --model /path/to/model.gguf'.`,
    );
  });

  test('a hub that never answers times out with a clear error', async () => {
    behaviour.hang = true;
    await expect(newCache({ timeoutMs: 200 }).ensure(ref)).rejects.toThrow(/could not be downloaded: 127\.0\.0\.1:\d+ stopped answering \(timed out\)/);
  });

  test('without x-linked headers, size and sha256 come from the tree API', async () => {
    const source = await resolveHfFile({ kind: 'hf', owner: 'owner', repo: 'repo', revision: 'main', file: 'small.gguf' }, { endpoint });
    expect(source).toEqual({ url: `${endpoint}/owner/repo/resolve/main/small.gguf`, size: 1000, sha256: smallSha256 });
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual([
      'HEAD /owner/repo/resolve/main/small.gguf',
      'GET /api/models/owner/repo/tree/main',
    ]);
    expect((await readFile(await newCache().ensure('hf:owner/repo/small.gguf'))).equals(small)).toBe(true);
  });

  test('redirects are followed at most 5 times', async () => {
    await expect(downloadFile({ url: `${endpoint}/loop`, destination: join(home, 'loop.gguf') })).rejects.toThrow('more than 5 redirects');
    expect(seen.length).toBe(6);
  });

  test('the token goes to the hub but not to the CDN of another origin', async () => {
    await newCache({ token: 'secret-token' }).ensure(ref);
    const toHub = seen.filter((request) => request.url.startsWith('/owner/'));
    const toCdn = seen.filter((request) => request.url.startsWith('/cdn/'));
    expect(toHub.length).toBeGreaterThan(0);
    expect(toHub.every((request) => request.authorization === 'Bearer secret-token')).toBe(true);
    expect(toCdn.length).toBeGreaterThan(0);
    expect(toCdn.every((request) => request.authorization === undefined)).toBe(true);
  });

  test('file refs must exist and start with the GGUF magic', async () => {
    const cache = newCache();
    const good = join(home, 'good.gguf');
    const bad = join(home, 'bad.gguf');
    await writeFile(good, data.subarray(0, 64));
    await writeFile(bad, 'not a model');
    expect(await cache.ensure(good)).toBe(good);
    await expect(cache.ensure(bad)).rejects.toThrow(`${bad} is not a GGUF file`);
    await expect(cache.ensure(join(home, 'absent.gguf'))).rejects.toThrow(/Model file not found: .*absent\.gguf\. Check the path/);
    await expect(cache.ensure(home)).rejects.toThrow('is a folder, not a model file');
  });

  test('list reports complete and partial files; remove deletes both and refuses files outside the cache', async () => {
    const cache = newCache();
    expect(await cache.list()).toEqual([]);
    await cache.ensure(ref);
    const partialRef = 'hf:other/repo@v2/sub/partial.gguf';
    const partialPath = cache.localPath(partialRef);
    await mkdir(join(partialPath, '..'), { recursive: true });
    await writeFile(`${partialPath}.part`, 'half');

    const listed = await cache.list();
    expect(listed.map(({ ref: name, size: bytes, incomplete }) => ({ name, bytes, incomplete }))).toEqual([
      { name: partialRef, bytes: 4, incomplete: true },
      { name: ref, bytes: size, incomplete: false },
    ]);
    expect(listed[1]?.path).toBe(cache.localPath(ref));
    expect(listed[1]?.modifiedAt).toBeInstanceOf(Date);

    expect(await cache.remove(ref)).toBe(true);
    expect(await cache.remove(partialRef)).toBe(true);
    expect(await cache.remove(ref)).toBe(false);
    expect(await cache.list()).toEqual([]);
    expect(existsSync(join(home, 'models', 'hf', 'owner'))).toBe(false);
    await expect(cache.remove(join(home, 'elsewhere.gguf'))).rejects.toThrow('is not in the model cache');
  });
});

describe('nimbus pull and nimbus models', () => {
  function capture(): { stdout: () => string; stderr: () => string } {
    let stdout = '';
    let stderr = '';
    vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void (stdout += `${parts.join(' ')}\n`));
    vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void (stderr += `${parts.join(' ')}\n`));
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    return { stdout: () => stdout, stderr: () => stderr };
  }

  test('pull downloads with progress into NIMBUS_HOME; models lists and removes it', async () => {
    const environment = { NIMBUS_HOME: home, NIMBUS_HF_ENDPOINT: endpoint };
    const output = capture();
    expect(await pullCommand([ref], environment)).toBe(0);
    const path = join(home, 'models', 'hf', 'owner', 'repo', 'main', 'file.gguf');
    expect(output.stdout()).toBe(`${path}\n`);
    expect(output.stderr()).toContain(`Downloading ${ref}`);
    expect(output.stderr()).toContain('100%');
    expect((await readFile(path)).equals(data)).toBe(true);

    expect(await pullCommand([ref], environment)).toBe(0);
    expect(output.stderr()).toContain(`${ref} is already cached.`);

    expect(await modelsCommand([], environment)).toBe(0);
    expect(output.stdout()).toMatch(/REF\s+SIZE\s+MODIFIED\nhf:owner\/repo\/file\.gguf\s+3\.1 MB\s+\d{4}-\d\d-\d\d \d\d:\d\d/);

    expect(await modelsCommand(['rm', ref], environment)).toBe(0);
    expect(output.stdout()).toContain(`removed ${ref}`);
    expect(existsSync(path)).toBe(false);
    expect(await modelsCommand(['rm', ref], environment)).toBe(1);
    expect(output.stderr()).toContain(`error: ${ref} is not in the cache`);
  });

  test('--home beats NIMBUS_HOME', async () => {
    capture();
    const other = join(home, 'other-home');
    expect(await pullCommand([ref, '--home', other], { NIMBUS_HOME: join(home, 'unused'), NIMBUS_HF_ENDPOINT: endpoint })).toBe(0);
    expect(existsSync(join(other, 'models', 'hf', 'owner', 'repo', 'main', 'file.gguf'))).toBe(true);
    expect(existsSync(join(home, 'unused'))).toBe(false);
  });

  test('errors are one line on stderr, never a stack trace', async () => {
    const output = capture();
    const port = await closedPort();
    expect(await pullCommand(['hf:owner/repo'], { NIMBUS_HOME: home })).toBe(1);
    expect(await pullCommand([ref], { NIMBUS_HOME: home, NIMBUS_HF_ENDPOINT: `http://127.0.0.1:${port}` })).toBe(1);
    expect(await pullCommand([], { NIMBUS_HOME: home })).toBe(2);
    expect(await pullCommand(['--bogus', ref], { NIMBUS_HOME: home })).toBe(2);
    expect(await modelsCommand(['frobnicate'], { NIMBUS_HOME: home })).toBe(2);
    const lines = output
      .stderr()
      .trimEnd()
      .split('\n')
      .filter((line) => !line.startsWith('Downloading '));
    expect(lines).toHaveLength(5);
    expect(lines.every((line) => line.startsWith('error: '))).toBe(true);
    expect(lines[0]).toContain('no file');
    expect(lines[1]).toContain(`Run 'nimbus pull ${ref}' to try again`);
    expect(output.stderr()).not.toMatch(/\n\s+at /);
  });

  test('models on an empty cache says how to fill it', async () => {
    const output = capture();
    expect(await modelsCommand(['ls'], { NIMBUS_HOME: home })).toBe(0);
    expect(output.stdout()).toContain('No models cached in');
    expect(output.stdout()).toContain('nimbus pull hf:OWNER/REPO/FILE.gguf');
  });
});
