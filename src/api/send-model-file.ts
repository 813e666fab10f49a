/**
 * Sends a model file with HTTP Range support (`bytes=START-` and `bytes=START-END`), so a worker's
 * interrupted download resumes where it stopped instead of starting gigabytes over.
 */
import { createReadStream } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ModelFile } from '../core/pool-control.js';

/** Answers 200 with the whole file, 206 with the range asked for, or 416 for a range outside it. */
export function sendModelFile(request: FastifyRequest, reply: FastifyReply, file: ModelFile): FastifyReply {
  reply.header('accept-ranges', 'bytes').header('content-type', 'application/octet-stream');
  const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
  if (!range) return reply.header('content-length', file.size).send(createReadStream(file.path));
  const start = Number(range[1]);
  const end = range[2] ? Math.min(Number(range[2]), file.size - 1) : file.size - 1;
  if (start >= file.size || start > end) return reply.code(416).header('content-range', `bytes */${file.size}`).send();
  return reply
    .code(206)
    .header('content-range', `bytes ${start}-${end}/${file.size}`)
    .header('content-length', end - start + 1)
    .send(createReadStream(file.path, { start, end }));
}
