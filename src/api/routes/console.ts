/**
 * The web console: the built single-page app (console/dist) served at `/`. Files are read once at
 * start-up, gzipped once, and answered with an ETag; hashed files under `/assets/` are cached for
 * a year, everything else revalidates. A path that is not a file and not the API answers
 * index.html, so the console's own routes (`/devices`, `/usage`) survive a reload.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

interface ConsoleFile {
  body: Buffer;
  gzipped: Buffer | undefined;
  type: string;
  etag: string;
  cacheControl: string;
}

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Whether a URL path belongs to the API: never answered with the console's page, and never without a key. */
export function isApiPath(path: string): boolean {
  return /^\/(v1|mcp|metrics|healthz|readyz)(\/|$|\?)/.test(path);
}

const notBuilt = `<!doctype html><meta charset="utf-8"><title>Nimbus</title><p>The Nimbus console is not built. Run <code>npm run build</code> and restart the server.</p>`;

/** Every file under `directory`, by URL path. */
function loadFiles(directory: string): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) {
        walk(path);
        continue;
      }
      const urlPath = `/${relative(directory, path).split(sep).join('/')}`;
      const body = readFileSync(path);
      const type = types[extname(name)] ?? 'application/octet-stream';
      const compressible = /text|json|svg/.test(type) && body.length > 512;
      files.set(urlPath, {
        body,
        gzipped: compressible ? gzipSync(body, { level: 9 }) : undefined,
        type,
        etag: `"${createHash('sha1').update(body).digest('base64url')}"`,
        cacheControl: urlPath.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
    }
  };
  walk(directory);
  return files;
}

function send(request: FastifyRequest, reply: FastifyReply, file: ConsoleFile): FastifyReply {
  void reply.header('cache-control', file.cacheControl).header('etag', file.etag).header('vary', 'accept-encoding');
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  void reply.type(file.type);
  const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  if (file.gzipped && acceptsGzip) return reply.header('content-encoding', 'gzip').send(file.gzipped);
  return reply.send(file.body);
}

function notFound(reply: FastifyReply): FastifyReply {
  reply.callNotFound();
  return reply;
}

/** Serves the console from `directory` (the Vite build output); a short page saying how to build it when absent. */
export function registerConsoleRoutes(app: FastifyInstance, directory: string): void {
  const files = existsSync(join(directory, 'index.html')) ? loadFiles(directory) : new Map<string, ConsoleFile>();
  const index = files.get('/index.html');
  const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const path = decodeURIComponent(request.url.split('?')[0]!);
    if (isApiPath(path)) return notFound(reply);
    const file = files.get(path);
    if (file) return send(request, reply, file);
    // A missing script or image is a 404; any other path is one of the console's pages.
    if (extname(path) !== '' || !index) {
      if (!index && extname(path) === '') return reply.code(503).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(notBuilt);
      return notFound(reply);
    }
    return send(request, reply, index);
  };
  app.get('/', serve);
  app.get('/*', serve);
}

/** The routes the console's files answer on: they need no key (the page holds no data; the API does). */
export const consoleRoutes: readonly string[] = ['/', '/*'];
