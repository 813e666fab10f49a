/**
 * Runs one embeddings call for an HTTP request, with the same accounting as a generation: one
 * admission before the engine runs, one settlement and one ledger row after it, whatever
 * happened (success, engine error, a limit's refusal, a client that left).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Cancellation } from '../core/cancellation.js';
import type { EmbeddingResult, EngineCall } from '../core/engine.js';
import { toNimbusError } from '../core/errors.js';
import { newTimeOrderedId } from '../core/ids.js';
import { estimateEmbeddingTokens } from '../tenancy/estimate-prompt-tokens.js';
import type { Admission } from '../tenancy/usage-gate.js';
import type { ServerContext } from './server-context.js';

/** What the embeddings route asks of the runner. */
export interface EmbeddingJob {
  model: string;
  /** The model the name stands for (aliases resolved): prices are looked up by it. */
  canonicalModel: string;
  inputs: string[];
  base64: boolean;
  embed(call: EngineCall): Promise<EmbeddingResult>;
}

/** Serves an embeddings job; resolves to the response body. */
export async function serveEmbedding(context: ServerContext, request: FastifyRequest, reply: FastifyReply, job: EmbeddingJob): Promise<object> {
  const id = newTimeOrderedId('emb-');
  const createdAt = Date.now();
  const started = performance.now();
  const abort = new Cancellation();
  const onClose = (): void => {
    if (!reply.raw.writableEnded) abort.abort(new Error('client disconnected'));
  };
  reply.raw.on('close', onClose);
  const finishTracking = context.lifecycle.track(abort);
  let admission: Admission | undefined;
  let result: EmbeddingResult | undefined;
  let httpStatus = 200;
  let errorCode: string | null = null;
  try {
    const estimate = () => ({ promptTokens: estimateEmbeddingTokens(job.inputs), maxTokens: 0 });
    admission = await context.gate.admit(request.principal, { requestId: id, model: job.model, canonicalModel: job.canonicalModel, estimate });
    reply.headers(admission.headers);
    result = await job.embed({ requestId: id, cancel: abort });
    return {
      object: 'list',
      data: result.embeddings.map((vector, index) => ({
        object: 'embedding',
        index,
        embedding: job.base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector,
      })),
      model: job.model,
      usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
    };
  } catch (error) {
    const failure = toNimbusError(error);
    httpStatus = failure.status;
    errorCode = failure.code;
    throw failure;
  } finally {
    reply.raw.off('close', onClose);
    finishTracking();
    const promptTokens = result?.promptTokens ?? 0;
    const usage = result ? { promptTokens, cachedTokens: 0, completionTokens: 0 } : undefined;
    const costNanoUsd = admission?.settle({ model: job.canonicalModel, usage, compute: undefined }).costNanoUsd ?? 0;
    const durationMs = performance.now() - started;
    const { tenantId, keyId } = request.principal;
    context.metrics.recordRequest({
      route: 'embedding',
      model: job.model,
      status: String(httpStatus),
      tenant: tenantId,
      durationSeconds: durationMs / 1000,
      usage: result && { prompt_tokens: promptTokens, completion_tokens: 0, total_tokens: promptTokens },
      ttftSeconds: null,
      computeSeconds: 0,
      costNanoUsd,
    });
    context.store.recordRequest({
      id,
      createdAt,
      kind: 'embedding',
      model: job.model,
      httpStatus,
      status: result ? 'ok' : abort.aborted ? 'cancelled' : 'error',
      promptTokens,
      completionTokens: 0,
      cachedTokens: 0,
      ttftMs: null,
      durationMs: Math.round(durationMs * 1000) / 1000,
      finishReason: null,
      stream: false,
      errorCode,
      servedBy: null,
      route: null,
      usageEstimated: false,
      tenantId,
      keyId,
      deployment: null,
      worker: null,
      deviceClass: null,
      computeSeconds: 0,
      costNanoUsd,
    });
  }
}
