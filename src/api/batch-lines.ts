/**
 * The batch runner's line executor (batch/line-executor.ts) over the same checks, engines and
 * answer shapes as the HTTP routes: each line is one billed call on the accounting path, admitted
 * as the batch's creator against its day and month budgets only (`budgetsOnly`), priced with the
 * batch discount (`priceFactor`), its ledger row marked with the batch. Device and MCP tools are
 * refused (nobody is there to approve an action); function tools come back as tool calls.
 */
import type { BatchEndpoint, BatchUsage } from '../core/batch-store.js';
import type { EmbeddingRequest, EngineCall, GenerationEvent } from '../core/engine.js';
import { NimbusError, toNimbusError } from '../core/errors.js';
import type { ModelCatalog } from '../core/model-catalog.js';
import type { Principal } from '../core/principal.js';
import { parseRequest } from '../core/openai/parse-request.js';
import { chatCompletionRequestSchema, completionRequestSchema, embeddingRequestSchema } from '../core/openai/request-schemas.js';
import type { ToolCall, Usage } from '../core/openai/response-types.js';
import type { LineExecutor, LineJob, LineOutcome } from '../batch/line-executor.js';
import type { Accounting } from '../tenancy/accounting/accounting.js';
import type { BilledCallSpec } from '../tenancy/accounting/billed-call.js';
import { billedEmbedding, billedGeneration } from '../tenancy/accounting/billed-runs.js';
import { estimateChatPromptTokens, estimateEmbeddingTokens, estimateTextPromptTokens } from '../tenancy/estimate-prompt-tokens.js';
import { authorizeInference } from '../tenancy/usage-gate.js';
import { chatFormat, textFormat, type CompletionFormat } from './response-format.js';
import type { ResponseLine, ResponseLineAnswer } from './responses/batch-response.js';
import { checkCommon, checkMaxTokens, contextLengthOf, unsupported } from './routes/inference.js';

export interface BatchLinesOptions {
  catalog: ModelCatalog;
  accounting: Accounting;
  /** Multiplies every price of a line (`batchDiscount`). */
  discount: number;
  /** The principal to bill a line to, from the one saved with its batch: the key as it is now (its limits; a 401 once revoked). */
  principalFor: (saved: Principal) => Promise<Principal>;
  /** The output cap assumed for a chat line without max_tokens whose model's context is unknown (`tenancy.defaultMaxTokens`). */
  defaultMaxTokens: number;
  /** Runs a `/v1/responses` line (api/responses/batch-response.ts); absent, such lines are refused. */
  responses?: (line: ResponseLine) => Promise<ResponseLineAnswer>;
}

/** Failures that say nothing about the line itself: it runs again later (under a fresh ledger id). */
const retryableCodes: ReadonlySet<string> = new Set([
  'rate_limit_exceeded',
  'limits_unavailable',
  'queue_full',
  'model_not_ready',
  'shutting_down',
  'upstream_error',
  'upstream_timeout',
  'worker_lost',
]);

const noUsage: BatchUsage = { inputTokens: 0, cachedTokens: 0, outputTokens: 0 };

function usageOf(usage: Usage): BatchUsage {
  return { inputTokens: usage.prompt_tokens, cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0, outputTokens: usage.completion_tokens };
}

/** Refuses what a batch line cannot do: act on devices, or call MCP servers. */
function refuseUnattendedTools(body: Record<string, unknown>): void {
  if (body.nimbus !== undefined && body.nimbus !== null)
    throw unsupported(
      'nimbus',
      "Batch lines cannot use 'nimbus.devices': nobody is there to approve an action on a device. Send device requests interactively.",
    );
  const tools = Array.isArray(body.tools) ? (body.tools as Array<{ type?: unknown }>) : [];
  const index = tools.findIndex((tool) => tool?.type !== 'function');
  if (index >= 0)
    throw unsupported(
      `tools[${index}].type`,
      `Batch lines may only use function tools (their calls come back in the output); '${String(tools[index]?.type)}' tools are refused because nobody is there to approve what they do.`,
    );
}

export class BatchLines implements LineExecutor {
  constructor(private readonly options: BatchLinesOptions) {}

  estimateTokens(endpoint: BatchEndpoint, body: Record<string, unknown>): number {
    const bytes = Buffer.byteLength(JSON.stringify(body));
    const asked =
      (typeof body.max_completion_tokens === 'number' ? body.max_completion_tokens : undefined) ??
      (typeof body.max_tokens === 'number' ? body.max_tokens : undefined) ??
      (typeof body.max_output_tokens === 'number' ? body.max_output_tokens : undefined);
    if (endpoint === '/v1/embeddings') return bytes;
    if (endpoint === '/v1/completions') return bytes + (asked ?? 16);
    let cap = asked;
    if (cap === undefined && typeof body.model === 'string') {
      try {
        cap = contextLengthOf(this.options.catalog.route(body.model));
      } catch {
        // An unknown model fails its lines when they run; the estimate takes the default.
      }
    }
    return bytes + (cap ?? this.options.defaultMaxTokens);
  }

  async run(job: LineJob): Promise<LineOutcome> {
    try {
      const principal = await this.options.principalFor(job.batch.principal);
      switch (job.batch.endpoint) {
        case '/v1/chat/completions':
          return await this.chat(job, principal);
        case '/v1/completions':
          return await this.complete(job, principal);
        case '/v1/embeddings':
          return await this.embed(job, principal);
        case '/v1/responses':
          return await this.respond(job, principal);
      }
    } catch (error) {
      const failure = toNimbusError(error);
      const outcome: LineOutcome = { statusCode: failure.status, body: failure.toJSON(), usage: failure.usage ? usageOf(failure.usage) : noUsage };
      if (retryableCodes.has(failure.code)) outcome.retryable = true;
      return outcome;
    }
  }

  private spec(
    job: LineJob,
    principal: Principal,
    kind: string,
    model: string,
    models: readonly string[],
    estimate: BilledCallSpec['estimate'],
  ): BilledCallSpec {
    return {
      requestId: job.requestId,
      kind,
      principal,
      model,
      models,
      estimate,
      stream: false,
      batchId: job.batch.id,
      priceFactor: this.options.discount,
      budgetsOnly: true,
      priority: 'batch',
    };
  }

  private async chat(job: LineJob, principal: Principal): Promise<LineOutcome> {
    refuseUnattendedTools(job.line.body);
    const body = parseRequest(chatCompletionRequestSchema, { ...job.line.body, stream: false });
    checkCommon(body);
    if (body.logprobs) throw unsupported('logprobs', 'logprobs are not supported yet; remove the parameter.');
    authorizeInference(principal, body.model, this.options.catalog.canonical(body.model));
    const route = this.options.catalog.route(body.model);
    checkMaxTokens(route, body.max_completion_tokens ?? body.max_tokens, body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens');
    const spec = this.spec(job, principal, 'chat', body.model, route.models, () => ({
      promptTokens: estimateChatPromptTokens(body),
      maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
      contextLength: contextLengthOf(route),
    }));
    return this.generate(job, spec, chatFormat, (call) => route.chat(body, call));
  }

  private async complete(job: LineJob, principal: Principal): Promise<LineOutcome> {
    const body = parseRequest(completionRequestSchema, { ...job.line.body, stream: false });
    checkCommon(body);
    if (Array.isArray(body.prompt) && body.prompt.length > 1)
      throw unsupported('prompt', `Only one prompt per request is supported (got ${body.prompt.length}): put each prompt on a line of its own.`);
    if (body.suffix) throw unsupported('suffix', 'suffix (fill-in-the-middle) is not supported yet; remove the parameter.');
    if (body.logprobs != null) throw unsupported('logprobs', 'logprobs are not supported yet; remove the parameter.');
    const prompt = Array.isArray(body.prompt) ? body.prompt[0]! : body.prompt;
    authorizeInference(principal, body.model, this.options.catalog.canonical(body.model));
    const route = this.options.catalog.route(body.model);
    checkMaxTokens(route, body.max_tokens, 'max_tokens');
    const spec = this.spec(job, principal, 'completion', body.model, route.models, () => ({
      promptTokens: estimateTextPromptTokens(prompt),
      maxTokens: body.max_tokens ?? 16,
    }));
    const prefix = body.echo ? prompt : '';
    return this.generate(job, spec, textFormat, (call) => route.complete({ ...body, prompt }, call), prefix);
  }

  private async generate(
    job: LineJob,
    spec: BilledCallSpec,
    format: CompletionFormat,
    start: (call: EngineCall) => AsyncIterable<GenerationEvent>,
    prefix = '',
  ): Promise<LineOutcome> {
    let text = prefix;
    const toolCalls: ToolCall[] = [];
    for await (const event of billedGeneration(this.options.accounting, spec, job.cancel, start)) {
      if (event.type === 'delta') {
        if (event.content) text += event.content;
        for (const call of event.toolCalls ?? [])
          toolCalls.push({ id: call.id ?? '', type: 'function', function: { name: call.function.name ?? '', arguments: call.function.arguments } });
        continue;
      }
      const identity = { id: job.requestId, created: Math.floor(Date.now() / 1000), model: spec.model };
      return { statusCode: 200, body: format.whole(identity, text, toolCalls, event.finishReason, event.usage), usage: usageOf(event.usage) };
    }
    throw new NimbusError('internal_error', 'The engine ended without an answer.');
  }

  /** A response line: not streamed, stored only when the line says so, function tools only. */
  private async respond(job: LineJob, principal: Principal): Promise<LineOutcome> {
    refuseUnattendedTools(job.line.body);
    if (!this.options.responses) throw unsupported('url', 'This server does not serve /v1/responses lines.');
    if (job.line.body.stream === true) throw unsupported('stream', "Batch lines are not streamed: remove 'stream' (the answer is written to the output file).");
    if (job.line.body.background === true) throw unsupported('background', "Batch lines run in the background already: remove 'background'.");
    const answer = await this.options.responses({
      principal,
      requestId: job.requestId,
      batchId: job.batch.id,
      priceFactor: this.options.discount,
      body: job.line.body,
      cancel: job.cancel,
    });
    return { statusCode: 200, body: answer.body, usage: answer.usage ? usageOf(answer.usage) : noUsage };
  }

  private async embed(job: LineJob, principal: Principal): Promise<LineOutcome> {
    const body = parseRequest(embeddingRequestSchema, job.line.body);
    authorizeInference(principal, body.model, this.options.catalog.canonical(body.model));
    const route = this.options.catalog.route(body.model);
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const forwarded: EmbeddingRequest = { ...body, input: inputs };
    delete forwarded.encoding_format;
    const base64 = body.encoding_format === 'base64';
    const spec = this.spec(job, principal, 'embedding', body.model, route.models, () => ({ promptTokens: estimateEmbeddingTokens(inputs), maxTokens: 0 }));
    const result = await billedEmbedding(this.options.accounting, spec, job.cancel, (call) => route.embed(forwarded, call));
    return {
      statusCode: 200,
      body: {
        object: 'list',
        data: result.embeddings.map((vector, index) => ({
          object: 'embedding',
          index,
          embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector,
        })),
        model: body.model,
        usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
      },
      usage: { inputTokens: result.promptTokens, cachedTokens: 0, outputTokens: 0 },
    };
  }
}
