/**
 * The Files API in OpenAI's shapes: `POST /v1/files` (multipart: file, purpose, expires_after),
 * `GET /v1/files` (cursor pages), `GET /v1/files/{id}`, `GET /v1/files/{id}/content` (streamed),
 * `DELETE /v1/files/{id}` (also out of every vector store). A tenant sees only its own files.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NimbusError } from '../../core/errors.js';
import { filePurposes, type FileRecord } from '../../core/knowledge-store.js';
import { parseRequest } from '../../core/openai/parse-request.js';
import { fileTooLarge, type KnowledgeFiles } from '../../knowledge/knowledge-files.js';
import { knowledgeTenant } from '../knowledge-access.js';
import { receiveUpload } from '../multipart-upload.js';

/** Purposes a client may upload; the `_output` ones are Nimbus's own. */
const uploadPurposes = filePurposes.filter((purpose) => !purpose.endsWith('_output'));
/** Batch input files expire after 30 days unless the upload says otherwise, as OpenAI's do. */
const batchExpirySeconds = 30 * 86_400;

const uploadSchema = z.object({
  purpose: z.enum(uploadPurposes as [string, ...string[]], { message: `purpose must be one of ${uploadPurposes.join(', ')}` }),
  'expires_after[anchor]': z.literal('created_at').optional(),
  'expires_after[seconds]': z.coerce.number().int().min(3600).max(2_592_000).optional(),
});

const listSchema = z.object({
  purpose: z.enum(filePurposes).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().min(1).optional(),
});

/** A file as OpenAI's API shows it (times in unix seconds). */
export function fileView(file: FileRecord): object {
  return {
    id: file.id,
    object: 'file',
    bytes: file.bytes,
    created_at: Math.floor(file.createdAt / 1000),
    expires_at: file.expiresAt === null ? null : Math.floor(file.expiresAt / 1000),
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
    status_details: null,
  };
}

export function registerFileRoutes(app: FastifyInstance, files: KnowledgeFiles): void {
  // The route reads the multipart body itself, as a stream: nothing is buffered by Fastify.
  app.addContentTypeParser('multipart/form-data', (_request, _payload, done) => done(null));

  app.post('/v1/files', async (request, reply) => {
    const tenantId = knowledgeTenant(request.principal);
    const declared = Number(request.headers['content-length'] ?? 0);
    await files.checkRoom(tenantId, Number.isFinite(declared) ? declared : 0);
    const upload = await receiveUpload(request.raw, files.limits.maxFileBytes, (stream) => files.receive(stream));
    if (!upload.file)
      throw new NimbusError('missing_required_parameter', "The upload has no 'file' part: send the bytes as the form field 'file'.", { param: 'file' });
    const { blob, filename, truncated } = upload.file;
    let fields;
    try {
      if (truncated) throw fileTooLarge(files.limits.maxFileBytes);
      fields = parseRequest(uploadSchema, upload.fields);
    } catch (error) {
      await files.discard(blob);
      throw error;
    }
    const seconds = fields['expires_after[seconds]'] ?? (fields.purpose === 'batch' ? batchExpirySeconds : undefined);
    const file = await files.register({ tenantId, filename, purpose: fields.purpose as FileRecord['purpose'], expiresAfterSeconds: seconds }, blob);
    return reply.code(200).send(fileView(file));
  });

  app.get('/v1/files', async (request) => {
    const tenantId = knowledgeTenant(request.principal);
    const query = parseRequest(listSchema, request.query);
    const page = await files.list(tenantId, { purpose: query.purpose, after: query.after, order: query.order, limit: query.limit + 1 });
    const data = page.slice(0, query.limit);
    return { object: 'list', data: data.map(fileView), first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.length > query.limit };
  });

  app.get<{ Params: { id: string } }>('/v1/files/:id', async (request) => fileView(await files.get(knowledgeTenant(request.principal), request.params.id)));

  app.get<{ Params: { id: string } }>('/v1/files/:id/content', async (request, reply) => {
    const { file, stream } = await files.content(knowledgeTenant(request.principal), request.params.id);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(file.bytes))
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.filename)}`)
      .send(stream);
  });

  app.delete<{ Params: { id: string } }>('/v1/files/:id', async (request) => {
    const file = await files.delete(knowledgeTenant(request.principal), request.params.id);
    return { id: file.id, object: 'file', deleted: true };
  });
}
