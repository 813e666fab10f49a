/**
 * A vector store's files and batches in OpenAI's shapes: `/v1/vector_stores/{id}/files` (add,
 * list with a status filter, retrieve, update attributes, delete, parsed content) and
 * `/file_batches` (create, retrieve, cancel, list its files). An answer still in progress carries
 * `openai-poll-after-ms`, which the openai client's `poll` helpers follow.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { parseRequest } from '../../core/openai/parse-request.js';
import type { VectorStores } from '../../knowledge/vector-stores.js';
import { knowledgeTenant } from '../knowledge-access.js';
import { addFileSchema, chunkingOf, createBatchSchema, listFilesSchema, updateFileSchema } from '../knowledge-schemas.js';
import { cursorPage, fileBatchView, vectorStoreFileView } from '../knowledge-views.js';

type StoreParams = { Params: { id: string } };
type FileParams = { Params: { id: string; fileId: string } };
type BatchParams = { Params: { id: string; batchId: string } };

/** How soon a client polling an entry or batch in progress should ask again. */
const pollAfterMs = '200';

function pollHint(reply: FastifyReply, inProgress: boolean): void {
  if (inProgress) reply.header('openai-poll-after-ms', pollAfterMs);
}

export function registerVectorStoreFileRoutes(app: FastifyInstance, stores: VectorStores): void {
  app.post<StoreParams>('/v1/vector_stores/:id/files', async (request, reply) => {
    knowledgeTenant(request.principal);
    const body = parseRequest(addFileSchema, request.body);
    const entry = await stores.addFile(request.principal, request.params.id, {
      fileId: body.file_id,
      attributes: body.attributes ?? undefined,
      chunking: chunkingOf(body.chunking_strategy),
    });
    pollHint(reply, true);
    return vectorStoreFileView(entry);
  });

  app.get<StoreParams>('/v1/vector_stores/:id/files', async (request) => {
    const tenantId = knowledgeTenant(request.principal);
    const query = parseRequest(listFilesSchema, request.query);
    const rows = await stores.listFiles(tenantId, request.params.id, { ...query, status: query.filter, limit: query.limit + 1 });
    return cursorPage(rows, query.limit, vectorStoreFileView, (row) => row.fileId);
  });

  app.get<FileParams>('/v1/vector_stores/:id/files/:fileId', async (request, reply) => {
    const entry = await stores.getFile(knowledgeTenant(request.principal), request.params.id, request.params.fileId);
    pollHint(reply, entry.status === 'in_progress');
    return vectorStoreFileView(entry);
  });

  app.post<FileParams>('/v1/vector_stores/:id/files/:fileId', async (request) => {
    const tenantId = knowledgeTenant(request.principal);
    const body = parseRequest(updateFileSchema, request.body);
    return vectorStoreFileView(await stores.updateAttributes(tenantId, request.params.id, request.params.fileId, body.attributes ?? {}));
  });

  app.delete<FileParams>('/v1/vector_stores/:id/files/:fileId', async (request) => {
    await stores.removeFile(knowledgeTenant(request.principal), request.params.id, request.params.fileId);
    return { id: request.params.fileId, object: 'vector_store.file.deleted', deleted: true };
  });

  app.get<FileParams>('/v1/vector_stores/:id/files/:fileId/content', async (request) => {
    const { texts } = await stores.fileContent(knowledgeTenant(request.principal), request.params.id, request.params.fileId);
    return { object: 'vector_store.file_content.page', data: texts.map((text) => ({ type: 'text', text })), has_more: false, next_page: null };
  });

  app.post<StoreParams>('/v1/vector_stores/:id/file_batches', async (request, reply) => {
    knowledgeTenant(request.principal);
    const body = parseRequest(createBatchSchema, request.body);
    const shared = { attributes: body.attributes ?? undefined, chunking: chunkingOf(body.chunking_strategy) };
    const files =
      body.files?.map((file) => ({
        fileId: file.file_id,
        attributes: file.attributes ?? undefined,
        chunking: chunkingOf(file.chunking_strategy),
      })) ?? (body.file_ids ?? []).map((fileId) => ({ fileId, ...shared }));
    const batch = await stores.createBatch(request.principal, request.params.id, files);
    const { fileCounts } = await stores.getBatch(request.principal.tenantId, request.params.id, batch.id);
    pollHint(reply, fileCounts.in_progress > 0);
    return fileBatchView(batch, fileCounts);
  });

  app.get<BatchParams>('/v1/vector_stores/:id/file_batches/:batchId', async (request, reply) => {
    const { batch, fileCounts } = await stores.getBatch(knowledgeTenant(request.principal), request.params.id, request.params.batchId);
    pollHint(reply, fileCounts.in_progress > 0);
    return fileBatchView(batch, fileCounts);
  });

  app.post<BatchParams>('/v1/vector_stores/:id/file_batches/:batchId/cancel', async (request) => {
    const { batch, fileCounts } = await stores.cancelBatch(knowledgeTenant(request.principal), request.params.id, request.params.batchId);
    return fileBatchView(batch, fileCounts);
  });

  app.get<BatchParams>('/v1/vector_stores/:id/file_batches/:batchId/files', async (request) => {
    const tenantId = knowledgeTenant(request.principal);
    const query = parseRequest(listFilesSchema, request.query);
    await stores.getBatch(tenantId, request.params.id, request.params.batchId);
    const rows = await stores.listFiles(tenantId, request.params.id, {
      ...query,
      status: query.filter,
      batchId: request.params.batchId,
      limit: query.limit + 1,
    });
    return cursorPage(rows, query.limit, vectorStoreFileView, (row) => row.fileId);
  });
}
