/**
 * One model loaded in llama.cpp: a context with one sequence per slot (their evaluations are
 * batched together by node-llama-cpp), a slot pool with a bounded queue in front, and a lazily
 * created embedding context (embedding-runner.ts).
 */
import type { ChatHistoryItem, Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import type { ChatWrapper } from 'node-llama-cpp';
import { AsyncQueue } from '../../core/async-queue.js';
import type { EmbeddingResult, EngineCall, GenerationEvent } from '../../core/engine.js';
import { isNimbusError, NimbusError } from '../../core/errors.js';
import type { ChatCompletionRequest, CompletionRequest } from '../../core/openai/request-schemas.js';
import type { FinishReason, Usage } from '../../core/openai/response-types.js';
import { toChatHistory } from './chat-history.js';
import { DeltaOutput } from './delta-output.js';
import { mapFinishReason, samplingOptions } from './generation-options.js';
import { cachedPrefix, PromptCache } from './prompt-cache.js';
import { HeldPrefixes, type HeldPrefixReport } from './held-prefixes.js';
import { longestPrefixSlot } from './slot-choice.js';
import { SlotPool } from './slot-pool.js';
import { spareSlotBytes } from './spare-slot-bytes.js';
import { emptySpare, interactiveTurn, isDecodeFailure, renewSlot, type Slot } from './llama-slot.js';
import { planOutput, type OutputPlan } from './tool-plan.js';
import { GrammarCache } from './grammar-cache.js';
import { generateChat } from './chat-generation.js';
import { EmbeddingRunner } from './embedding-runner.js';
import { continueChat, continueText, resumableGeneration, type Turn } from './resumable-generation.js';
import { routingKeys } from '../../cluster/routing/routing-keys.js';

/** How to load one model. */
export interface LoadOptions {
  id: string;
  path: string;
  contextSize: number;
  slots: number;
  threads: number;
  gpuLayers: 'auto' | 'max' | number;
  maxQueue: number;
  /** Bytes of evicted slot states kept in RAM for reuse (0: none); see prompt-cache.ts. */
  promptCacheBytes?: number;
  /**
   * Sequences beyond `slots` kept for interactive requests that come while batch requests hold
   * slots (slot-pool.ts; decision 0017): each costs one slot's KV memory (`contextSize` tokens). 0 by default.
   */
  spareSlots?: number;
}

/** Sequences shorter than this are cheaper to evaluate again than to save. */
const promptCacheMinTokens = 32;

export class LoadedModel {
  private readonly pool: SlotPool<Slot>;
  private readonly slots: readonly Slot[];
  private readonly grammars: GrammarCache;
  /** Evicted slot states kept in RAM; undefined when the budget is 0. */
  readonly promptCache: PromptCache | undefined;
  /** The prompts run here, by prefix key, for the worker's cache report. */
  private readonly held = new HeldPrefixes();
  private readonly embeddings: EmbeddingRunner;

  private constructor(
    readonly options: LoadOptions,
    private readonly llama: Llama,
    readonly model: LlamaModel,
    private readonly context: LlamaContext,
    slots: Slot[],
    private readonly evaluators: (sequence: LlamaContextSequence) => Pick<Slot, 'chat' | 'completion'>,
    /** Renders every chat prompt; not a slot's LlamaChat's, which is disposed while its sequence is renewed (`renew`). */
    private readonly chatWrapper: ChatWrapper,
    /** Memory (RAM and VRAM) the spare slots' sequences add to the context, as node-llama-cpp estimates it. */
    readonly spareSlotBytes: number,
  ) {
    this.slots = slots;
    const ordinary = options.slots;
    this.grammars = new GrammarCache(llama);
    this.pool = new SlotPool(slots.slice(0, ordinary), options.maxQueue, `model '${options.id}'`, slots.slice(ordinary));
    const budgetBytes = options.promptCacheBytes ?? 0;
    this.promptCache = budgetBytes > 0 ? new PromptCache({ budgetBytes, minTokens: promptCacheMinTokens }) : undefined;
    this.embeddings = new EmbeddingRunner(model, {
      id: options.id,
      contextSize: options.contextSize,
      threads: options.threads,
      deviceClass: () => this.deviceClass,
    });
  }

  /** Loads weights and creates the context; throws with a message that says what to fix. */
  static async load(llama: Llama, options: LoadOptions): Promise<LoadedModel> {
    // Loaded here, not at the top: importing node-llama-cpp costs half a second of start-up.
    const { LlamaChat, LlamaCompletion } = await import('node-llama-cpp');
    const model = await llama.loadModel({ modelPath: options.path, gpuLayers: options.gpuLayers });
    const sequences = options.slots + (options.spareSlots ?? 0);
    try {
      const context = await model.createContext({
        contextSize: Math.min(options.contextSize, model.trainContextSize || options.contextSize),
        sequences,
        ...(options.threads > 0 ? { threads: options.threads } : {}),
      });
      const evaluators = (sequence: LlamaContextSequence) => ({
        chat: new LlamaChat({ contextSequence: sequence }),
        completion: new LlamaCompletion({ contextSequence: sequence }),
      });
      const slots: Slot[] = [];
      for (let index = 0; index < sequences; index += 1) {
        const sequence = context.getSequence();
        slots.push({ index, sequence, keep: true, ...evaluators(sequence) });
      }
      return new LoadedModel(
        options,
        llama,
        model,
        context,
        slots,
        evaluators,
        slots[0]!.chat.chatWrapper,
        await spareSlotBytes(model, context.contextSize, options.slots, options.spareSlots ?? 0),
      );
    } catch (error) {
      await model.dispose();
      throw error;
    }
  }

  /** Tokens of context each slot has. */
  get contextSize(): number {
    return this.context.contextSize;
  }

  /**
   * Tokens of KV memory for running requests and cached prefixes together (a worker's heartbeat
   * tells the router: `RoutingCandidate.kvTokens`, decision 0028): every slot's context, plus what
   * the prompt cache's budget holds at the bytes per token of the states it saved. Undefined with a
   * prompt cache that has saved nothing yet (its size in tokens is not known).
   */
  get kvTokens(): number | undefined {
    const slots = this.context.contextSize * this.slots.length;
    if (!this.promptCache) return slots;
    const cached = this.promptCache.tokenCapacity;
    return cached === undefined ? undefined : slots + cached;
  }

  get embeddingLength(): number {
    return this.model.embeddingVectorSize;
  }

  get active(): number {
    return this.pool.busy;
  }

  /** The device class the ledger prices its compute-seconds at: the GPU backend when layers are offloaded, else `cpu`. */
  get deviceClass(): string {
    return this.llama.gpu && this.model.gpuLayers > 0 ? this.llama.gpu : 'cpu';
  }

  get queued(): number {
    return this.pool.queued;
  }

  /** Batch generations asked to give their slot to an interactive request so far. */
  get yields(): number {
    return this.pool.yieldsAsked;
  }

  /** Batch generations that took a slot again after a yield, so far. */
  get resumes(): number {
    return this.pool.resumes;
  }

  /** Interactive requests that took a spare slot (none of the batch lines had to yield), so far. */
  get spareTakes(): number {
    return this.pool.spareTakes;
  }

  /**
   * A chat completion; validation errors are thrown before a slot is taken. A batch call of plain
   * text yields its slot to interactive requests and resumes (resumable-generation.ts); one held
   * to a grammar or with tools waits behind them for a slot but, once running, runs to its end.
   */
  chat(request: ChatCompletionRequest, call: EngineCall): AsyncIterable<GenerationEvent> {
    const plan = planOutput(request);
    if (call.priority !== 'batch') return this.chatSegment(request, call, plan, interactiveTurn());
    if (plan.kind !== 'text' || request.logprobs) return this.chatSegment(request, call, plan, { ...interactiveTurn(), priority: 'batch' });
    return resumableGeneration(
      request,
      (current, turn) => this.chatSegment(current, call, planOutput(current), turn),
      (first, text, used) => continueChat(first, text, used, call.maxTokens),
    );
  }

  private chatSegment(request: ChatCompletionRequest, call: EngineCall, plan: OutputPlan, turn: Turn): AsyncIterable<GenerationEvent> {
    let history = toChatHistory(request.messages);
    if (plan.kind === 'forced-call') history = [{ type: 'system', text: plan.instructions }, ...history];
    const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? call.maxTokens;
    const prompt = this.chatPromptTokens(history, plan);
    this.held.record(routingKeys(request).prefixKeys ?? [], prompt);
    return this.generate(call, turn, prompt, maxTokens, request.seed, async (slot, signal, output, budget) => {
      const grammar = plan.kind === 'json' || plan.kind === 'forced-call' ? await this.grammars.get(plan.grammar) : undefined;
      return generateChat({ chat: slot.chat, sequence: slot.sequence, history, request, plan, grammar, signal, output, budget });
    });
  }

  /** A text completion of one prompt; a batch call yields its slot to interactive requests and resumes. */
  complete(request: CompletionRequest & { prompt: string }, call: EngineCall): AsyncIterable<GenerationEvent> {
    if (call.priority !== 'batch') return this.completeSegment(request, call, interactiveTurn());
    return resumableGeneration(
      request,
      (current, turn) => this.completeSegment(current, call, turn),
      (first, text, used) => continueText(first, text, used, call.maxTokens),
    );
  }

  private completeSegment(request: CompletionRequest & { prompt: string }, call: EngineCall, turn: Turn): AsyncIterable<GenerationEvent> {
    const maxTokens = request.max_tokens ?? call.maxTokens ?? 16;
    // Tokenized once, exactly as LlamaCompletion would (it prepends BOS itself and then tokenizes
    // without the SentencePiece leading space), and handed over as tokens: the usage count and the
    // prefix matched against slot caches are then the very tokens that get evaluated.
    const bos = this.model.tokens.shouldPrependBosToken ? this.model.tokens.bos : null;
    const tokens = this.model.tokenize(request.prompt, false, bos === null ? undefined : 'trimLeadingSpace');
    const prompt = bos === null ? tokens : [bos, ...tokens];
    this.held.record(routingKeys(request).prefixKeys ?? [], prompt);
    return this.generate(call, turn, prompt, maxTokens, request.seed, async (slot, signal, output, budget) => {
      const result = await slot.completion.generateCompletionWithMeta(tokens, {
        ...samplingOptions(request),
        maxTokens: budget,
        signal,
        stopOnAbortSignal: true,
        onTextChunk: output.text,
      });
      return mapFinishReason(result.metadata.stopReason);
    });
  }

  /** Tokens of `text` as `embed` counts an input (no special tokens added). */
  countTokens(text: string): number {
    return this.embeddings.countTokens(text);
  }

  /** Embeds each input with the model's pooled hidden state (embedding-runner.ts). */
  embed(inputs: readonly string[], call: EngineCall): Promise<EmbeddingResult> {
    return this.embeddings.embed(inputs, call);
  }

  /** Frees the context and weights; waiting requests get 503. */
  async close(): Promise<void> {
    this.pool.rejectAll(new NimbusError('shutting_down', 'The server is shutting down.'));
    await this.embeddings.close();
    await this.context.dispose();
    await this.promptCache?.close();
    await this.model.dispose();
  }

  /** The prefix keys its slots and prompt cache hold now, newest first, at most `limit` (held-prefixes.ts). */
  heldPrefixes(limit?: number): HeldPrefixReport {
    const holders = [...this.slots.map((slot) => slot.sequence.contextTokens), ...(this.promptCache?.heldTokens() ?? [])];
    return this.held.report(holders, limit);
  }

  /** Tokens to generate: what was asked, capped by the room left in the slot's context. */
  private budget(promptTokens: number, maxTokens: number | undefined): number {
    const room = this.context.contextSize - promptTokens;
    if (room < 1) {
      throw new NimbusError(
        'context_length_exceeded',
        `This model's context per slot is ${this.context.contextSize} tokens, but the prompt has ${promptTokens}. Shorten the messages, or serve the model with a larger contextSize.`,
        // The counts let a caller that can shorten the prompt (a response's truncation: auto) cut it in one go.
        { param: 'messages', facts: { promptTokens, contextLength: this.context.contextSize } },
      );
    }
    return Math.min(maxTokens ?? room, room);
  }

  /** The exact prompt: the history rendered by the model's chat wrapper, then tokenized. */
  private chatPromptTokens(history: ChatHistoryItem[], plan: OutputPlan): Token[] {
    const { contextText } = this.chatWrapper.generateContextState({
      chatHistory: history,
      ...(plan.kind === 'functions' ? { availableFunctions: plan.functions, documentFunctionParams: true } : {}),
    });
    return contextText.tokenize(this.model.tokenizer);
  }

  /**
   * The shared shape of a generation: take a slot, run `body` while it pushes deltas, then emit
   * `done` with exact usage. When the consumer stops early (client gone), generation is aborted
   * and the slot is released only once the sequence is idle again.
   */
  private async *generate(
    call: EngineCall,
    turn: Turn,
    prompt: readonly Token[],
    maxTokens: number | undefined,
    seed: number | null | undefined,
    body: (slot: Slot, signal: AbortSignal, output: DeltaOutput, budget: number) => Promise<FinishReason>,
  ): AsyncGenerator<GenerationEvent> {
    if (maxTokens !== undefined && maxTokens < 1) throw new NimbusError('invalid_value', 'max_tokens must be at least 1.', { param: 'max_tokens' });
    if (maxTokens !== undefined && maxTokens > this.context.contextSize) {
      throw new NimbusError('invalid_value', `max_tokens (${maxTokens}) is more than this model's context of ${this.context.contextSize} tokens per slot.`, {
        param: 'max_tokens',
      });
    }
    const budget = this.budget(prompt.length, maxTokens);
    // A request with a seed is reproducible: it is evaluated from an empty cache, because llama.cpp's
    // logits differ in the last bits between a whole-prompt batch and a cached prefix plus the rest,
    // enough to change a greedy pick. Without a seed, prefix reuse: the free slot whose cache shares
    // the longest prefix with this prompt evaluates the least.
    const reproducible = seed !== undefined && seed !== null;
    const stop = new AbortController();
    // Asked to yield (an interactive request waits): stop at the next token boundary, unless the body already ended.
    let generating = true;
    const onYield = (): void => {
      if (!generating || stop.signal.aborted) return;
      turn.yielded = true;
      stop.abort(new Error('yielded to an interactive request'));
    };
    const slot = await this.pool.acquire(call.cancel.signal, {
      choose: reproducible ? undefined : (free) => longestPrefixSlot(free, prompt),
      priority: turn.priority,
      resumed: turn.resumed,
      onYield: turn.yieldable ? onYield : undefined,
      prefilling: turn.priority === 'interactive',
    });
    let cachedTokens = 0;
    const acquiredAt = performance.now();
    const stopFollowing = call.cancel.onAbort((reason) => stop.abort(reason));
    const queue = new AsyncQueue<GenerationEvent>();
    const output = new DeltaOutput(queue, () => this.pool.firstToken(slot));
    const run = (async () => {
      try {
        let finishReason: FinishReason;
        let generated: number;
        for (let attempt = 1; ; attempt += 1) {
          const meter = slot.sequence.tokenMeter.getState();
          try {
            if (reproducible) await slot.sequence.clearHistory();
            else
              cachedTokens = this.promptCache
                ? await this.promptCache.prepare(slot.sequence, prompt, slot.keep)
                : cachedPrefix(slot.sequence.contextTokens, prompt);
            // Yielded while the prompt was being readied: nothing generated, the continuation starts where this one would have.
            finishReason = turn.yielded ? 'stop' : await body(slot, stop.signal, output, budget);
            generated = slot.sequence.tokenMeter.diff(meter).usedOutputTokens;
            break;
          } catch (error) {
            // A refusal of Nimbus's own (output that broke the schema) leaves the sequence sound; it
            // carries the tokens the tries used, for the ledger.
            if (isNimbusError(error)) {
              const used = slot.sequence.tokenMeter.diff(meter).usedOutputTokens;
              const usage = { prompt_tokens: prompt.length, completion_tokens: used, total_tokens: prompt.length + used };
              throw new NimbusError(error.code, error.message, { param: error.param, usage, headers: error.headers });
            }
            // Whatever else failed, this sequence's token list and llama.cpp's cells may no longer
            // agree, and a sequence out of step fails every batch it joins: the slot gets a fresh one.
            await this.renew(slot);
            // Stopped to yield, and the library threw rather than returned: what was handed out stands, the continuation goes on from it.
            if (turn.yielded) {
              finishReason = 'stop';
              generated = 0;
              break;
            }
            // A request that failed only because a batch it was in failed, before it gave out
            // anything, runs again once on its fresh sequence: the client never sees the failure.
            if (attempt > 1 || !isDecodeFailure(error) || output.started || stop.signal.aborted) throw error;
          }
        }
        generating = false;
        // A yielded batch line comes back for its state (resumable-generation.ts); one that ended does not.
        slot.keep = turn.priority === 'interactive' || turn.yielded;
        const promptTokens = prompt.length;
        const usage: Usage = {
          prompt_tokens: promptTokens,
          completion_tokens: generated,
          total_tokens: promptTokens + generated,
          prompt_tokens_details: { cached_tokens: cachedTokens },
        };
        const compute = { deviceClass: this.deviceClass, seconds: (performance.now() - acquiredAt) / 1000 };
        output.push({ type: 'done', finishReason, usage, servedBy: `${this.options.id}#${slot.index}`, compute });
        queue.end();
      } catch (error) {
        output.flush();
        queue.fail(error);
      }
    })();
    try {
      yield* queue;
    } finally {
      stopFollowing();
      if (!stop.signal.aborted) stop.abort(new Error('consumer stopped'));
      await run;
      if (slot.index < this.options.slots) this.pool.release(slot);
      else
        void emptySpare(slot, this.promptCache, () => this.renew(slot))
          .catch(() => undefined)
          .finally(() => this.pool.release(slot));
    }
  }

  /** Replaces a slot's sequence with an empty one (llama.cpp's cells of the old one are freed). */
  private renew(slot: Slot): Promise<void> {
    return renewSlot(slot, this.context, this.evaluators);
  }
}
