/**
 * Runs one embeddings call for an HTTP request as one billed call on the accounting path, the
 * same as a generation (src/tenancy/accounting/): admitted before the engine runs, ended once
 * whatever happened with its settlement, ledger row, metrics, access line and live event; the
 * answer carries its id, rate-limit and route headers.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Cancellation } from '../core/cancellation.js';
import type { EmbeddingResult, EngineCall } from '../core/engine.js';
import { newTimeOrderedId } from '../core/ids.js';
import { estimateEmbeddingTokens } from '../tenancy/estimate-prompt-tokens.js';
import { addRouteHeaders } from './route-headers.js';
import type { ServerContext } from './server-context.js';

/** What the embeddings route asks of the runner. */
export interface EmbeddingJob {
  model: string;
  /** The models that may serve it: the one the name stands for (aliases resolved), then its fallbacks. */
  models: readonly string[];
  inputs: string[];
  base64: boolean;
  embed(call: EngineCall): Promise<EmbeddingResult>;
}

/** Serves an embeddings job; resolves to the response body. */
export async function serveEmbedding(context: ServerContext, request: FastifyRequest, reply: FastifyReply, job: EmbeddingJob): Promise<object> {
  const id = newTimeOrderedId('emb-');
  const billed = context.accounting.open({
    requestId: id,
    kind: 'embedding',
    principal: request.principal,
    model: job.model,
    models: job.models,
    estimate: () => ({ promptTokens: estimateEmbeddingTokens(job.inputs), maxTokens: 0 }),
    stream: false,
    httpRequestId: request.id,
  });
  const abort = new Cancellation();
  const onClose = (): void => {
    if (!reply.raw.writableEnded) abort.abort(new Error('client disconnected'));
  };
  reply.raw.on('close', onClose);
  const finishTracking = context.lifecycle.track(abort);
  try {
    const admitted = billed.admit();
    if (admitted) await admitted;
    const result = await job.embed(billed.engineCall(abort));
    billed.embedded(result);
    return {
      object: 'list',
      data: result.embeddings.map((vector, index) => ({
        object: 'embedding',
        index,
        embedding: job.base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector,
      })),
      model: job.model,
      usage: embeddingUsage(context, result),
    };
  } catch (error) {
    const failure = billed.failed(error);
    // The client left: nothing failed, so the row says 499 (as a generation's does), not the error the cancelled call threw.
    if (abort.aborted) billed.clientLeft();
    throw failure;
  } finally {
    reply.raw.off('close', onClose);
    finishTracking();
    const headers: Record<string, string> = { 'x-request-id': id };
    const admitted = billed.headers;
    for (const name in admitted) headers[name] = admitted[name]!;
    addRouteHeaders(headers, billed.attempts);
    reply.headers(headers);
    billed.end(abort.aborted);
  }
}

/** The usage a client gets; a pool worker adds its compute report for the control plane's ledger. */
function embeddingUsage(context: ServerContext, result: EmbeddingResult): object {
  const usage = { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens };
  if (!context.reportCompute || !result.compute) return usage;
  return { ...usage, nimbus_compute: { device_class: result.compute.deviceClass, seconds: result.compute.seconds } };
}
