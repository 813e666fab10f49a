/**
 * `tools: [{type: "file_search", vector_store_ids, max_num_results, ranking_options, filters}]` of
 * a response: the knowledge executor for it, its `file_search_call` items (with the results when
 * `include` asks for `file_search_call.results`) and streamed events, and the answer's citations,
 * `{type: "file_citation", file_id, filename, index}` for each file whose passages the model was given.
 */
import { rerankOf } from '../routes/vector-stores.js';
import { z } from 'zod';
import { NimbusError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { formatParamPath } from '../../core/openai/parse-request.js';
import { fileSearchExecutor, type FileSearchRecord } from '../../knowledge/file-search-executor.js';
import type { StoreSearch } from '../../knowledge/search/store-search.js';
import { knowledgeTenant } from '../knowledge-access.js';
import { filterSchema } from '../knowledge-schemas.js';
import type { ServerToolKind } from '../routes/responses.js';
import { chatForm } from './server-tool-items.js';

const toolSchema = z.object({
  type: z.literal('file_search'),
  vector_store_ids: z.array(z.string().min(1)).min(1).max(16),
  max_num_results: z.number().int().min(1).max(50).default(10),
  ranking_options: z
    .object({
      ranker: z.enum(['none', 'auto', 'default-2024-11-15']).optional(),
      score_threshold: z.number().min(0).max(1).optional(),
      hybrid_search: z.object({ embedding_weight: z.number().min(0), text_weight: z.number().min(0) }).optional(),
      // Nimbus's extension, as on POST /v1/vector_stores/{id}/search.
      rerank: z.strictObject({ model: z.string().min(1), top_n: z.number().int().min(1).max(50).default(20) }).optional(),
    })
    .optional(),
  filters: filterSchema.nullish(),
});

export function fileSearchKind(search: StoreSearch): ServerToolKind {
  return {
    async prepare(tools, request, body) {
      knowledgeTenant(request.principal);
      const index = (body.tools ?? []).findIndex((tool) => tool.type === 'file_search');
      if (tools.length > 1)
        throw new NimbusError('invalid_value', 'Send at most one file_search tool; list every vector store in its vector_store_ids.', { param: 'tools' });
      const parsed = toolSchema.safeParse(tools[0]);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const param = formatParamPath(['tools', index, ...issue.path]);
        throw new NimbusError('invalid_value', `Invalid value for '${param}': ${issue.message}.`, { param });
      }
      const tool = parsed.data;
      const hybrid = tool.ranking_options?.hybrid_search;
      const searches: FileSearchRecord[] = [];
      const includeResults = (body.include ?? []).includes('file_search_call.results');
      const executor = fileSearchExecutor(
        search,
        request.principal,
        {
          vectorStoreIds: tool.vector_store_ids,
          maxNumResults: tool.max_num_results,
          scoreThreshold: tool.ranking_options?.score_threshold ?? 0,
          embeddingWeight: hybrid?.embedding_weight ?? 1,
          textWeight: hybrid?.text_weight ?? 1,
          rerank: rerankOf(tool.ranking_options?.rerank),
          filter: tool.filters ?? undefined,
        },
        (record) => searches.push(record),
      );
      return {
        executor,
        item: (result) => {
          const record = result.outcome.record as FileSearchRecord;
          return {
            item: {
              id: newId('fs_'),
              type: 'file_search_call',
              status: 'completed',
              queries: record.queries,
              results: includeResults
                ? record.results.map((hit) => ({ file_id: hit.fileId, filename: hit.filename, score: hit.score, text: hit.text, attributes: hit.attributes }))
                : null,
              nimbus_call: chatForm(result),
            },
            during: [
              ['response.file_search_call.in_progress', {}],
              ['response.file_search_call.searching', {}],
              ['response.file_search_call.completed', {}],
            ],
          };
        },
        citations: (text) => {
          const files = new Map<string, string>();
          for (const record of searches) for (const hit of record.results) files.set(hit.fileId, hit.filename);
          return [...files].map(([fileId, filename]) => ({ type: 'file_citation', file_id: fileId, filename, index: text.length }));
        },
      };
    },
  };
}
