/** POST /v1/chat/completions, /v1/completions and /v1/embeddings. */
import type { FastifyInstance } from 'fastify';
import { NimbusError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { parseRequest } from '../../core/openai/parse-request.js';
import { chatCompletionRequestSchema, completionRequestSchema, embeddingRequestSchema } from '../../core/openai/request-schemas.js';
import { chatFormat, textFormat } from '../response-format.js';
import { serveGeneration } from '../serve-generation.js';
import type { ServerContext } from '../server-context.js';

function unsupported(param: string, message: string): NimbusError {
  return new NimbusError('unsupported_value', message, { param });
}

/** Checks shared by chat and text completions that zod's shapes cannot say. */
function checkCommon(body: { n?: number | null; stream?: boolean | null; stream_options?: unknown }): void {
  if (body.n != null && body.n !== 1) throw unsupported('n', `Only n=1 is supported (got n=${body.n}): send separate requests for several choices.`);
  if (body.stream_options != null && !body.stream)
    throw new NimbusError('invalid_value', "Invalid value for 'stream_options': it is only allowed when 'stream' is true.", { param: 'stream_options' });
}

export function registerInferenceRoutes(app: FastifyInstance, context: ServerContext): void {
  app.post('/v1/chat/completions', async (request, reply) => {
    const body = parseRequest(chatCompletionRequestSchema, request.body);
    checkCommon(body);
    if (body.logprobs) throw unsupported('logprobs', 'logprobs are not supported yet; remove the parameter.');
    if (body.logit_bias && Object.keys(body.logit_bias).length > 0) throw unsupported('logit_bias', 'logit_bias is not supported yet; remove the parameter.');
    const engine = context.catalog.resolve(body.model);
    await serveGeneration(context, request, reply, {
      kind: 'chat',
      identity: { id: newId('chatcmpl-'), created: Math.floor(Date.now() / 1000), model: body.model },
      format: chatFormat,
      stream: Boolean(body.stream),
      includeUsage: Boolean(body.stream_options?.include_usage),
      prefix: '',
      start: (call) => engine.chat(body, call),
    });
  });

  app.post('/v1/completions', async (request, reply) => {
    const body = parseRequest(completionRequestSchema, request.body);
    checkCommon(body);
    if (Array.isArray(body.prompt) && body.prompt.length > 1) {
      throw unsupported('prompt', `Only one prompt per request is supported (got ${body.prompt.length}): send one request per prompt; they run concurrently.`);
    }
    if (body.suffix) throw unsupported('suffix', 'suffix (fill-in-the-middle) is not supported yet; remove the parameter.');
    if (body.best_of != null && body.best_of !== 1) throw unsupported('best_of', 'Only best_of=1 is supported.');
    if (body.logprobs != null) throw unsupported('logprobs', 'logprobs are not supported yet; remove the parameter.');
    if (body.logit_bias && Object.keys(body.logit_bias).length > 0) throw unsupported('logit_bias', 'logit_bias is not supported yet; remove the parameter.');
    const prompt = Array.isArray(body.prompt) ? body.prompt[0]! : body.prompt;
    const engine = context.catalog.resolve(body.model);
    await serveGeneration(context, request, reply, {
      kind: 'completion',
      identity: { id: newId('cmpl-'), created: Math.floor(Date.now() / 1000), model: body.model },
      format: textFormat,
      stream: Boolean(body.stream),
      includeUsage: Boolean(body.stream_options?.include_usage),
      prefix: body.echo ? prompt : '',
      start: (call) => engine.complete({ ...body, prompt }, call),
    });
  });

  app.post('/v1/embeddings', async (request, reply) => {
    const body = parseRequest(embeddingRequestSchema, request.body);
    const engine = context.catalog.resolve(body.model);
    const status = engine.models().find((model) => model.id === body.model);
    if (body.dimensions !== undefined && status?.embeddingLength !== undefined && body.dimensions !== status.embeddingLength) {
      throw unsupported(
        'dimensions',
        `This model's embeddings have ${status.embeddingLength} dimensions; omit 'dimensions' or set it to ${status.embeddingLength}.`,
      );
    }
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const abort = new AbortController();
    const onClose = (): void => {
      if (!reply.raw.writableEnded) abort.abort(new Error('client disconnected'));
    };
    reply.raw.on('close', onClose);
    const finishTracking = context.lifecycle.track(abort);
    const started = performance.now();
    try {
      const result = await engine.embed({ model: body.model, input: inputs }, { requestId: newId('emb-'), signal: abort.signal });
      context.metrics.requests.inc({ route: 'embedding', model: body.model, status: '200' });
      context.metrics.promptTokens.inc({ model: body.model }, result.promptTokens);
      context.metrics.requestDuration.observe({ route: 'embedding' }, (performance.now() - started) / 1000);
      return {
        object: 'list',
        data: result.embeddings.map((vector, index) => ({
          object: 'embedding',
          index,
          embedding: body.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector,
        })),
        model: body.model,
        usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
      };
    } finally {
      reply.raw.off('close', onClose);
      finishTracking();
    }
  });
}
