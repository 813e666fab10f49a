/**
 * Embeddings of one loaded model: an embedding context created on first use (beside the model's
 * generation context, so embeddings never wait for a generation slot) that evaluates one input at
 * a time, each input checked against the context before it is evaluated.
 */
import type { LlamaEmbeddingContext, LlamaModel } from 'node-llama-cpp';
import type { EmbeddingResult, EngineCall } from '../../core/engine.js';
import { NimbusError } from '../../core/errors.js';

export interface EmbeddingRunnerOptions {
  /** The model's id, for `servedBy`. */
  id: string;
  contextSize: number;
  threads: number;
  /** What the ledger prices the compute at (`cpu` or the GPU backend). */
  deviceClass: () => string;
}

export class EmbeddingRunner {
  private context: Promise<LlamaEmbeddingContext> | undefined;
  /** Serializes calls: one embedding context evaluates one input at a time. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly model: LlamaModel,
    private readonly options: EmbeddingRunnerOptions,
  ) {}

  /** Tokens of `text` as `embed` counts an input (no special tokens added). */
  countTokens(text: string): number {
    return this.model.tokenize(text).length;
  }

  /** Embeds each input with the model's pooled hidden state. */
  async embed(inputs: readonly string[], call: EngineCall): Promise<EmbeddingResult> {
    const contextSize = Math.min(this.options.contextSize, this.model.trainContextSize || this.options.contextSize);
    this.context ??= this.model.createEmbeddingContext({
      contextSize,
      ...(this.options.threads > 0 ? { threads: this.options.threads } : {}),
    });
    const context = await this.context;
    const run = this.tail.then(async () => {
      const started = performance.now();
      const embeddings: number[][] = [];
      let promptTokens = 0;
      for (const [index, input] of inputs.entries()) {
        if (call.cancel.aborted) throw call.cancel.reason;
        const tokens = this.model.tokenize(input);
        promptTokens += tokens.length;
        // Evaluated with the model's markers (BOS, EOS) around it, and llama.cpp keeps one position free.
        const evaluated = context.calculateInputLength(tokens);
        if (evaluated >= contextSize) {
          throw new NimbusError(
            'context_length_exceeded',
            `Input ${index} has ${tokens.length} tokens (${evaluated} with the model's markers); the model's embedding context of ${contextSize} takes at most ${contextSize - 1}.`,
            { param: 'input' },
          );
        }
        const embedding = await context.getEmbeddingFor(tokens);
        embeddings.push([...embedding.vector]);
      }
      // The embedding context is one sequence: it is the slot this call held, for the ledger and its compute price.
      const compute = { deviceClass: this.options.deviceClass(), seconds: (performance.now() - started) / 1000 };
      return { embeddings, promptTokens, servedBy: `${this.options.id}#embedding`, compute };
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Frees the embedding context, if one was made. */
  async close(): Promise<void> {
    if (this.context) await (await this.context.catch(() => undefined))?.dispose();
  }
}
