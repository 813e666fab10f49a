/** Request schemas of `/v1/vector_stores` and its files, batches and search, in OpenAI's shapes. */
import { z } from 'zod';
import type { ChunkingSettings } from '../core/vector-store-store.js';
import type { AttributeFilter } from '../knowledge/search/attribute-filter.js';

const attributeValue = z.union([z.string().max(512), z.number(), z.boolean()]);

/** Up to 16 attributes with keys up to 64 characters, as OpenAI allows. */
export const attributesSchema = z.record(z.string().min(1).max(64), attributeValue).refine((value) => Object.keys(value).length <= 16, 'at most 16 attributes');

const metadataSchema = z.record(z.string().max(64), z.string().max(512)).refine((value) => Object.keys(value).length <= 16, 'at most 16 metadata keys');

/** `auto` (800 and 400 tokens) or `static` with a size of 100 to 4096 tokens and an overlap of at most half of it. */
export const chunkingStrategySchema = z
  .union([
    z.object({ type: z.literal('auto') }),
    z.object({
      type: z.literal('static'),
      static: z.object({ max_chunk_size_tokens: z.number().int().min(100).max(4096), chunk_overlap_tokens: z.number().int().min(0) }),
    }),
  ])
  .refine((strategy) => strategy.type === 'auto' || strategy.static.chunk_overlap_tokens <= strategy.static.max_chunk_size_tokens / 2, {
    message: 'chunk_overlap_tokens must be at most half of max_chunk_size_tokens',
    path: ['static', 'chunk_overlap_tokens'],
  });

/** The chunking a strategy asks for; undefined for `auto` or none. */
export function chunkingOf(strategy: z.infer<typeof chunkingStrategySchema> | undefined): ChunkingSettings | undefined {
  if (!strategy || strategy.type === 'auto') return undefined;
  return { maxChunkSizeTokens: strategy.static.max_chunk_size_tokens, chunkOverlapTokens: strategy.static.chunk_overlap_tokens };
}

const expiresAfterSchema = z.object({ anchor: z.literal('last_active_at'), days: z.number().int().min(1).max(365) });

export const createStoreSchema = z.object({
  name: z.string().max(256).optional(),
  description: z.string().max(512).optional(),
  file_ids: z.array(z.string().min(1)).max(10_000).optional(),
  chunking_strategy: chunkingStrategySchema.optional(),
  expires_after: expiresAfterSchema.optional(),
  metadata: metadataSchema.nullable().optional(),
});

export const updateStoreSchema = z.object({
  name: z.string().max(256).nullable().optional(),
  expires_after: expiresAfterSchema.nullable().optional(),
  metadata: metadataSchema.nullable().optional(),
});

export const listSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().min(1).optional(),
  before: z.string().min(1).optional(),
});

export const listFilesSchema = listSchema.extend({ filter: z.enum(['in_progress', 'completed', 'failed', 'cancelled']).optional() });

export const addFileSchema = z.object({
  file_id: z.string().min(1),
  attributes: attributesSchema.nullable().optional(),
  chunking_strategy: chunkingStrategySchema.optional(),
});

export const updateFileSchema = z.object({ attributes: attributesSchema.nullable() });

/** Files per batch: OpenAI allows 2,000; Nimbus takes up to 10,000 (a whole benchmark corpus in a few calls). */
export const maxBatchFiles = 10_000;

export const createBatchSchema = z
  .object({
    file_ids: z.array(z.string().min(1)).min(1).max(maxBatchFiles).optional(),
    files: z
      .array(z.object({ file_id: z.string().min(1), attributes: attributesSchema.nullable().optional(), chunking_strategy: chunkingStrategySchema.optional() }))
      .min(1)
      .max(maxBatchFiles)
      .optional(),
    attributes: attributesSchema.nullable().optional(),
    chunking_strategy: chunkingStrategySchema.optional(),
  })
  .refine((body) => (body.file_ids === undefined) !== (body.files === undefined), { message: 'send either file_ids or files', path: ['file_ids'] });

const comparisonSchema = z.object({
  type: z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin']),
  key: z.string().min(1),
  value: z.union([attributeValue, z.array(attributeValue)]),
});

export const filterSchema: z.ZodType<AttributeFilter> = z.lazy(() =>
  z.union([comparisonSchema, z.object({ type: z.enum(['and', 'or']), filters: z.array(filterSchema).min(1) })]),
);

/** Results per search: OpenAI's 1 to 50, and up to 200 as a documented extension for evaluation (Recall@100 and the like). */
export const maxSearchResults = 200;

export const searchSchema = z.object({
  query: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  filters: filterSchema.optional(),
  max_num_results: z.number().int().min(1).max(maxSearchResults).default(10),
  rewrite_query: z.boolean().optional(),
  ranking_options: z
    .object({
      ranker: z.enum(['none', 'auto', 'default-2024-11-15']).optional(),
      score_threshold: z.number().min(0).max(1).optional(),
      hybrid_search: z
        .object({
          embedding_weight: z.number().min(0),
          text_weight: z.number().min(0),
          // Nimbus's extension: how the legs are fused (normalised scores by default; 'rrf' for reciprocal ranks).
          fusion: z.enum(['scores', 'rrf']).optional(),
        })
        .optional(),
      // Nimbus's extension: the best top_n fused chunks rescored by a served model's embeddings (knowledge/search/rerank.ts).
      rerank: z.strictObject({ model: z.string().min(1), top_n: z.number().int().min(1).max(maxSearchResults).default(20) }).optional(),
    })
    .optional(),
});
