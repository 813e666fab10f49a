/**
 * `/v1/vector_stores` in OpenAI's shapes: create (with `file_ids`), list, retrieve, modify,
 * delete, and `POST /v1/vector_stores/{id}/search`. A tenant sees only its own stores; its key
 * needs inference scope. Files and batches: vector-store-files.ts.
 */
import type { FastifyInstance } from 'fastify';
import { parseRequest } from '../../core/openai/parse-request.js';
import type { RerankSpec } from '../../knowledge/search/rerank.js';
import { defaultFusion, type StoreSearch } from '../../knowledge/search/store-search.js';
import type { VectorStores } from '../../knowledge/vector-stores.js';
import { knowledgeTenant } from '../knowledge-access.js';
import { chunkingOf, createStoreSchema, listSchema, searchSchema, updateStoreSchema } from '../knowledge-schemas.js';
import { cursorPage, vectorStoreView } from '../knowledge-views.js';

type Params = { Params: { id: string } };

/** The API's `rerank` extension in the search's terms. */
export function rerankOf(rerank: { model: string; top_n: number } | undefined): RerankSpec | undefined {
  return rerank && { model: rerank.model, topN: rerank.top_n };
}

export function registerVectorStoreRoutes(app: FastifyInstance, stores: VectorStores, search: StoreSearch): void {
  const view = async (record: Awaited<ReturnType<VectorStores['get']>>): Promise<object> => vectorStoreView(record, await stores.summary(record));

  app.post('/v1/vector_stores', async (request) => {
    knowledgeTenant(request.principal);
    const body = parseRequest(createStoreSchema, request.body);
    const record = await stores.create(request.principal, {
      name: body.name,
      description: body.description,
      metadata: body.metadata ?? undefined,
      expiresAfterDays: body.expires_after?.days,
      fileIds: body.file_ids,
      chunking: chunkingOf(body.chunking_strategy),
    });
    return view(record);
  });

  app.get('/v1/vector_stores', async (request) => {
    const tenantId = knowledgeTenant(request.principal);
    const query = parseRequest(listSchema, request.query);
    const rows = await stores.list(tenantId, { ...query, limit: query.limit + 1 });
    const views = new Map<string, object>();
    for (const row of rows.slice(0, query.limit)) views.set(row.id, await view(row));
    return cursorPage(
      rows,
      query.limit,
      (row) => views.get(row.id)!,
      (row) => row.id,
    );
  });

  app.get<Params>('/v1/vector_stores/:id', async (request) => view(await stores.get(knowledgeTenant(request.principal), request.params.id)));

  app.post<Params>('/v1/vector_stores/:id', async (request) => {
    const tenantId = knowledgeTenant(request.principal);
    const body = parseRequest(updateStoreSchema, request.body);
    const record = await stores.update(tenantId, request.params.id, {
      ...(body.name !== undefined ? { name: body.name ?? '' } : {}),
      ...(body.metadata !== undefined ? { metadata: body.metadata ?? {} } : {}),
      ...(body.expires_after !== undefined ? { expiresAfterDays: body.expires_after?.days ?? null } : {}),
    } as Parameters<VectorStores['update']>[2]);
    return view(record);
  });

  app.delete<Params>('/v1/vector_stores/:id', async (request) => {
    await stores.delete(knowledgeTenant(request.principal), request.params.id);
    return { id: request.params.id, object: 'vector_store.deleted', deleted: true };
  });

  app.post<Params>('/v1/vector_stores/:id/search', async (request) => {
    knowledgeTenant(request.principal);
    const body = parseRequest(searchSchema, request.body);
    const queries = typeof body.query === 'string' ? [body.query] : body.query;
    const hybrid = body.ranking_options?.hybrid_search;
    const hits = await search.search(request.principal, request.params.id, {
      queries,
      filter: body.filters,
      maxResults: body.max_num_results,
      scoreThreshold: body.ranking_options?.score_threshold ?? 0,
      embeddingWeight: hybrid?.embedding_weight ?? 1,
      textWeight: hybrid?.text_weight ?? 1,
      fusion: hybrid?.fusion ?? defaultFusion,
      rerank: rerankOf(body.ranking_options?.rerank),
    });
    return {
      object: 'vector_store.search_results.page',
      search_query: queries,
      data: hits.map((hit) => ({
        file_id: hit.fileId,
        filename: hit.filename,
        score: hit.score,
        attributes: hit.attributes,
        content: [{ type: 'text', text: hit.text }],
      })),
      has_more: false,
      next_page: null,
    };
  });
}
