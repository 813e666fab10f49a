/**
 * The `file_search` tool of a response on the one tool loop: the model asks with up to three
 * queries, each vector store of the tool is searched with the same search `POST
 * /v1/vector_stores/{id}/search` runs (BM25, hybrid with an embedding model), the best results
 * across the stores go back to the model, and the files they came from are the answer's citations.
 */
import type { Principal } from '../core/principal.js';
import type { ToolCall } from '../core/openai/response-types.js';
import type { ToolExecutor } from '../tools/tool-loop.js';
import type { AttributeFilter } from './search/attribute-filter.js';
import type { RerankSpec } from './search/rerank.js';
import type { SearchHit, StoreSearch } from './search/store-search.js';

/** One `file_search` tool of the request, checked. */
export interface FileSearchTool {
  vectorStoreIds: readonly string[];
  maxNumResults: number;
  scoreThreshold: number;
  embeddingWeight: number;
  textWeight: number;
  filter?: AttributeFilter | undefined;
  /** Reranking by a served model (`ranking_options.rerank`, an extension), per store searched. */
  rerank?: RerankSpec | undefined;
}

/** What one search gave: its queries and results (the `file_search_call` item shows them). */
export interface FileSearchRecord {
  queries: string[];
  results: SearchHit[];
}

/** The function the model calls. */
export const fileSearchFunction = {
  type: 'function' as const,
  function: {
    name: 'file_search',
    description: 'Search the knowledge base for passages that answer the question. Ask with one to three short queries.',
    parameters: {
      type: 'object',
      properties: { queries: { type: 'array', items: { type: 'string', maxLength: 200 }, minItems: 1, maxItems: 3 } },
      required: ['queries'],
      additionalProperties: false,
    },
  },
};

/** The executor of a request's file_search tool; `onSearch` receives each search as it completes. */
export function fileSearchExecutor(
  search: StoreSearch,
  principal: Principal,
  tool: FileSearchTool,
  onSearch?: (record: FileSearchRecord) => void,
): ToolExecutor {
  return {
    kind: 'file_search',
    definitions: [fileSearchFunction],
    run: async (call: ToolCall, _step, engineCall) => {
      const queries = queriesOf(call.function.arguments);
      if (queries.length === 0) return { output: JSON.stringify({ error: 'Call file_search with {"queries": ["..."]}.' }), record: { queries, results: [] } };
      const perStore = await Promise.all(
        tool.vectorStoreIds.map((id) =>
          search.search(principal, id, {
            queries,
            filter: tool.filter,
            maxResults: tool.maxNumResults,
            scoreThreshold: tool.scoreThreshold,
            embeddingWeight: tool.embeddingWeight,
            textWeight: tool.textWeight,
            rerank: tool.rerank,
            parentId: engineCall?.requestId,
          }),
        ),
      );
      const results = perStore
        .flat()
        .sort((a, b) => b.score - a.score)
        .slice(0, tool.maxNumResults);
      const record: FileSearchRecord = { queries, results };
      onSearch?.(record);
      const output = results.map((hit) => ({ file_id: hit.fileId, filename: hit.filename, score: Number(hit.score.toFixed(4)), text: hit.text }));
      return { output: JSON.stringify(output.length > 0 ? { results: output } : { results: [], note: 'Nothing in the knowledge base matched.' }), record };
    },
  };
}

/** The model's queries: a list of non-empty strings, at most three (a bare string is one query). */
function queriesOf(text: string): string[] {
  try {
    const parsed = JSON.parse(text) as { queries?: unknown; query?: unknown };
    const given = Array.isArray(parsed.queries) ? parsed.queries : [parsed.query ?? parsed.queries];
    return given.filter((query): query is string => typeof query === 'string' && query.trim() !== '').slice(0, 3);
  } catch {
    return [];
  }
}
