/**
 * A local stand-in for the Hugging Face hub: serves files a test registers at
 * `/{owner}/{repo}/resolve/main/{file}` with HF's conventions (a HEAD answering x-linked-size and
 * x-linked-etag with the sha256, Range requests), optionally slowly, so a pull shows progress.
 * Anything else is a 404 with `x-error-code: EntryNotFound`, as the hub answers a missing file.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How one file is served. */
export interface HubFile {
  data: Buffer;
  /** Bytes sent per step of a GET; the whole body at once when absent. */
  chunkBytes?: number;
  /** Pause between steps, in milliseconds. */
  stepMs?: number;
}

export interface ModelHub {
  /** The endpoint to configure as `hfEndpoint` (NIMBUS_HF_ENDPOINT). */
  url: string;
  /** Serves `data` as `hf:{owner}/{repo}/{file}` (revision main). */
  add(path: `${string}/${string}/${string}`, file: HubFile): void;
  /** GET requests for file bytes so far. */
  readonly gets: number;
  close(): Promise<void>;
}

export async function startModelHub(): Promise<ModelHub> {
  const files = new Map<string, HubFile & { sha256: string }>();
  let gets = 0;
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const match = /^\/([^/]+)\/([^/]+)\/resolve\/main\/(.+)$/.exec(request.url ?? '');
    const file = match ? files.get(`${match[1]}/${match[2]}/${decodeURIComponent(match[3]!)}`) : undefined;
    if (!file) {
      response.writeHead(404, { 'x-error-code': 'EntryNotFound', 'content-type': 'text/plain' }).end('Entry not found');
      return;
    }
    const size = file.data.length;
    const headers = { 'x-linked-size': String(size), 'x-linked-etag': `"${file.sha256}"`, 'accept-ranges': 'bytes' };
    if (request.method === 'HEAD') {
      response.writeHead(200, { ...headers, 'content-length': size }).end();
      return;
    }
    gets += 1;
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    if (start >= size) {
      response.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    const body = file.data.subarray(start);
    response.writeHead(range ? 206 : 200, {
      ...headers,
      'content-length': body.length,
      ...(range ? { 'content-range': `bytes ${start}-${size - 1}/${size}` } : {}),
    });
    void send(response, body, file.chunkBytes ?? body.length, file.stepMs ?? 0);
  };
  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    add(path, file) {
      files.set(path, { ...file, sha256: createHash('sha256').update(file.data).digest('hex') });
    },
    get gets() {
      return gets;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function send(response: ServerResponse, body: Buffer, chunkBytes: number, stepMs: number): Promise<void> {
  for (let offset = 0; offset < body.length && !response.destroyed; offset += chunkBytes) {
    response.write(body.subarray(offset, offset + chunkBytes));
    if (stepMs > 0) await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  response.end();
}
