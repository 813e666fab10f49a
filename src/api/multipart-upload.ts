/**
 * Reads a `multipart/form-data` upload (`POST /v1/files`) as a stream: the file part goes to
 * disk while it arrives (never held in memory), the other fields are collected. Parts may come in
 * any order (the openai client sends the file first). A file past the size limit is truncated
 * and flagged; the rest of the body is still read, so the client gets the 413 instead of a reset.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { Busboy } from '@fastify/busboy';
import { NimbusError } from '../core/errors.js';

/** The upload's fields and its one file, as received. */
export interface ReceivedUpload<Blob> {
  fields: Record<string, string>;
  file?: { filename: string; blob: Blob; truncated: boolean };
}

/** Parses the request body; `store` takes the file part's bytes and resolves once they are written. */
export function receiveUpload<Blob>(request: IncomingMessage, maxFileBytes: number, store: (stream: Readable) => Promise<Blob>): Promise<ReceivedUpload<Blob>> {
  const contentType = request.headers['content-type'] ?? '';
  if (!contentType.startsWith('multipart/form-data')) {
    return Promise.reject(new NimbusError('unsupported_media_type', "Upload files as 'multipart/form-data' with the fields file and purpose."));
  }
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let file: Promise<ReceivedUpload<Blob>['file']> | undefined;
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      reject(error instanceof NimbusError ? error : new NimbusError('invalid_request', `The multipart body could not be read: ${(error as Error).message}`));
    };
    let parser;
    try {
      parser = Busboy({
        headers: { ...request.headers, 'content-type': contentType },
        limits: { fileSize: maxFileBytes, files: 1, fields: 20, fieldSize: 64 * 1024 },
      });
    } catch (error) {
      fail(error);
      return;
    }
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (name, stream, filename) => {
      if (name !== 'file' || file !== undefined) {
        stream.resume();
        return;
      }
      file = store(stream).then((blob) => ({ filename: filename || 'upload', blob, truncated: stream.truncated }));
      // Handled once the body ends; a failure before then must not be unhandled.
      file.catch(() => undefined);
    });
    parser.on('error', fail);
    parser.on('finish', () => {
      if (failed) return;
      Promise.resolve(file).then((received) => resolve(received ? { fields, file: received } : { fields }), fail);
    });
    request.on('error', fail);
    request.pipe(parser);
  });
}
