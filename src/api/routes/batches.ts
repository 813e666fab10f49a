/**
 * The Batch API in OpenAI's shapes: `POST /v1/batches`, `GET /v1/batches` (cursor pages),
 * `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`. A tenant sees only its own batches; a
 * key needs inference scope, and its lines are billed to it.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { batchEndpoints, type BatchRecord } from '../../core/batch-store.js';
import { parseRequest } from '../../core/openai/parse-request.js';
import type { Batches } from '../../batch/batches.js';
import { knowledgeTenant } from '../knowledge-access.js';

const createSchema = z.strictObject({
  input_file_id: z.string().min(1),
  endpoint: z.enum(batchEndpoints, { message: `endpoint must be one of ${batchEndpoints.join(', ')}` }),
  completion_window: z.literal('24h', { message: 'completion_window must be "24h"' }),
  metadata: z
    .record(z.string().max(64), z.string().max(512))
    .refine((metadata) => Object.keys(metadata).length <= 16, 'metadata holds at most 16 keys')
    .nullish(),
});

const listSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().min(1).optional(),
});

function seconds(ms: number | null): number | null {
  return ms === null ? null : Math.floor(ms / 1000);
}

/** A batch as OpenAI's API shows it (times in unix seconds). */
export function batchView(batch: BatchRecord): object {
  const { usage } = batch;
  return {
    id: batch.id,
    object: 'batch',
    endpoint: batch.endpoint,
    errors: batch.errors === null ? null : { object: 'list', data: batch.errors },
    input_file_id: batch.inputFileId,
    completion_window: batch.completionWindow,
    status: batch.status,
    output_file_id: batch.outputFileId,
    error_file_id: batch.errorFileId,
    created_at: seconds(batch.createdAt),
    in_progress_at: seconds(batch.inProgressAt),
    expires_at: seconds(batch.expiresAt),
    finalizing_at: seconds(batch.finalizingAt),
    completed_at: seconds(batch.completedAt),
    failed_at: seconds(batch.failedAt),
    expired_at: seconds(batch.expiredAt),
    cancelling_at: seconds(batch.cancellingAt),
    cancelled_at: seconds(batch.cancelledAt),
    request_counts: batch.counts,
    usage: {
      input_tokens: usage.inputTokens,
      input_tokens_details: { cached_tokens: usage.cachedTokens },
      output_tokens: usage.outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: usage.inputTokens + usage.outputTokens,
    },
    metadata: batch.metadata,
  };
}

export function registerBatchRoutes(app: FastifyInstance, batches: Batches): void {
  app.post('/v1/batches', async (request) => {
    knowledgeTenant(request.principal);
    const body = parseRequest(createSchema, request.body);
    const batch = await batches.create(request.principal, {
      inputFileId: body.input_file_id,
      endpoint: body.endpoint,
      completionWindow: body.completion_window,
      metadata: body.metadata ?? null,
    });
    return batchView(batch);
  });

  app.get('/v1/batches', async (request) => {
    const tenantId = knowledgeTenant(request.principal);
    const query = parseRequest(listSchema, request.query);
    const page = await batches.list(tenantId, query.after, query.limit + 1);
    const data = page.slice(0, query.limit);
    return { object: 'list', data: data.map(batchView), first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.length > query.limit };
  });

  app.get<{ Params: { id: string } }>('/v1/batches/:id', async (request) =>
    batchView(await batches.get(knowledgeTenant(request.principal), request.params.id)),
  );

  app.post<{ Params: { id: string } }>('/v1/batches/:id/cancel', async (request) =>
    batchView(await batches.cancel(knowledgeTenant(request.principal), request.params.id)),
  );
}
