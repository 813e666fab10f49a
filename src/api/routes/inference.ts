/** POST /v1/chat/completions, /v1/completions and /v1/embeddings. */
import type { FastifyInstance } from 'fastify';
import { appNameOf } from '../../apps/app-model.js';
import type { EmbeddingRequest } from '../../core/engine.js';
import { NimbusError } from '../../core/errors.js';
import type { ModelRoute } from '../../core/model-route.js';
import { newTimeOrderedId } from '../../core/ids.js';
import { parseRequest } from '../../core/openai/parse-request.js';
import { chatCompletionRequestSchema, completionRequestSchema, embeddingRequestSchema } from '../../core/openai/request-schemas.js';
import { estimateChatPromptTokens, estimateTextPromptTokens } from '../../tenancy/estimate-prompt-tokens.js';
import { authorizeInference } from '../../tenancy/usage-gate.js';
import { serveAppChat } from '../apps/app-chat.js';
import { usesDeviceTools, withDeviceTools, type ChatOutcome } from '../device-chat.js';
import { claimOrReplay, idempotencyKeyOf, settleKey } from '../idempotency-key.js';
import { chatFormat, textFormat } from '../response-format.js';
import { serveEmbedding } from '../serve-embedding.js';
import { serveGeneration } from '../serve-generation.js';
import type { ServerContext } from '../server-context.js';

/** The context length of the model a route serves first, where its engine knows it: the most a request without max_tokens can use. */
export function contextLengthOf(route: ModelRoute): number | undefined {
  return route.primary.engine.models().find((model) => model.id === route.primary.model)?.contextLength;
}

export function unsupported(param: string, message: string): NimbusError {
  return new NimbusError('unsupported_value', message, { param });
}

/**
 * max_tokens past the model's context (where its engine knows it) can never be served: refused,
 * as OpenAI does. A prompt plus max_tokens past it is served up to the end of the context, ending
 * with finish_reason `length`.
 */
export function checkMaxTokens(route: ModelRoute, asked: number | null | undefined, param: string): void {
  const contextLength = contextLengthOf(route);
  if (asked == null || contextLength === undefined || asked <= contextLength) return;
  throw new NimbusError(
    'invalid_value',
    `Invalid value for '${param}': ${asked} is more than this model's context of ${contextLength} tokens (prompt and answer together). Ask for at most ${contextLength}.`,
    { param },
  );
}

/** Checks shared by chat and text completions that zod's shapes cannot say. */
export function checkCommon(body: { n?: number | null; stream?: boolean | null; stream_options?: unknown }): void {
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
    const appName = appNameOf(body.model);
    if (appName !== undefined) return serveAppChat(context, request, reply, body, appName);
    authorizeInference(request.principal, body.model, context.catalog.canonical(body.model));
    await context.catalog.learn(body.model);
    const route = context.catalog.route(body.model);
    checkMaxTokens(route, body.max_completion_tokens ?? body.max_tokens, body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens');
    // With `nimbus.devices`, the job runs the device tool loop (api/device-chat.ts); otherwise it is unchanged.
    const serve = (outcome?: ChatOutcome): Promise<void> =>
      serveGeneration(
        context,
        request,
        reply,
        withDeviceTools(
          context,
          request,
          body,
          route,
          {
            kind: 'chat',
            identity: { id: newTimeOrderedId('chatcmpl-'), created: Math.floor(Date.now() / 1000), model: body.model },
            format: chatFormat,
            stream: Boolean(body.stream),
            includeUsage: Boolean(body.stream_options?.include_usage),
            prefix: '',
            start: (call) => route.chat(body, call),
            models: route.models,
            estimate: () => ({
              promptTokens: estimateChatPromptTokens(body, Number(request.headers['content-length'])),
              maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
              contextLength: contextLengthOf(route),
            }),
          },
          outcome,
        ),
      );
    // A chat that may act on devices runs once per Idempotency-Key (api/idempotency-key.ts).
    const key = context.devices && usesDeviceTools(request) ? idempotencyKeyOf(request) : undefined;
    if (!key || !context.devices) return serve();
    const gateway = context.devices.gateway;
    if (!(await claimOrReplay(gateway, request, reply, key))) return reply;
    const outcome: ChatOutcome = { answer: undefined, acted: false };
    try {
      await serve(outcome);
    } finally {
      await settleKey(gateway, request, key, outcome);
    }
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
    authorizeInference(request.principal, body.model, context.catalog.canonical(body.model));
    await context.catalog.learn(body.model);
    const route = context.catalog.route(body.model);
    checkMaxTokens(route, body.max_tokens, 'max_tokens');
    await serveGeneration(context, request, reply, {
      kind: 'completion',
      identity: { id: newTimeOrderedId('cmpl-'), created: Math.floor(Date.now() / 1000), model: body.model },
      format: textFormat,
      stream: Boolean(body.stream),
      includeUsage: Boolean(body.stream_options?.include_usage),
      prefix: body.echo ? prompt : '',
      start: (call) => route.complete({ ...body, prompt }, call),
      models: route.models,
      // A text completion without max_tokens generates 16 tokens (OpenAI's default, and the engines').
      estimate: () => ({ promptTokens: estimateTextPromptTokens(prompt), maxTokens: body.max_tokens ?? 16 }),
    });
  });

  app.post('/v1/embeddings', async (request, reply) => {
    const body = parseRequest(embeddingRequestSchema, request.body);
    authorizeInference(request.principal, body.model, context.catalog.canonical(body.model));
    await context.catalog.learn(body.model);
    const route = context.catalog.route(body.model);
    const status = route.primary.engine.models().find((model) => model.id === route.primary.model);
    if (body.dimensions !== undefined && status?.embeddingLength !== undefined && body.dimensions !== status.embeddingLength) {
      throw unsupported(
        'dimensions',
        `This model's embeddings have ${status.embeddingLength} dimensions; omit 'dimensions' or set it to ${status.embeddingLength}.`,
      );
    }
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    // Vectors come back as floats whatever the client asked for: Nimbus encodes them itself.
    const forwarded: EmbeddingRequest = { ...body, input: inputs };
    delete forwarded.encoding_format;
    return serveEmbedding(context, request, reply, {
      model: body.model,
      models: route.models,
      inputs,
      base64: body.encoding_format === 'base64',
      embed: (call) => route.embed(forwarded, call),
    });
  });
}
