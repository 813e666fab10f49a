/**
 * Embeddings for chunks and queries, each call a billed call on the one accounting path (admitted
 * against the payer's limits, settled, one ledger row of kind `embedding`), with the model the
 * configuration names (`knowledge.embeddingModel`, any model Nimbus serves). Vectors are
 * normalised to unit length, so a dot product is their cosine.
 */
import { Cancellation } from '../core/cancellation.js';
import { newTimeOrderedId } from '../core/ids.js';
import type { Engine } from '../core/engine.js';
import type { ModelCatalog } from '../core/model-catalog.js';
import type { Principal } from '../core/principal.js';
import type { Accounting } from '../tenancy/accounting/accounting.js';
import { billedEmbedding } from '../tenancy/accounting/billed-runs.js';
import { estimateEmbeddingTokens } from '../tenancy/estimate-prompt-tokens.js';
import { authorizeInference } from '../tenancy/usage-gate.js';
import { approximateTokens, type TokenCounter } from './chunking.js';

/** Turns texts into unit vectors, billing `payer`. */
export interface ChunkEmbedder {
  readonly model: string;
  /** Throws 403 when the payer may not use the model (checked before a file is accepted). */
  authorize(payer: Principal): void;
  /** `parentId`: the billed call these embeddings are part of (a response), named by each row. */
  embed(texts: readonly string[], payer: Principal, cancel?: Cancellation, parentId?: string): Promise<Float32Array[]>;
  /**
   * The model's own token count, where its engine holds the tokenizer in this process (a llama
   * model loaded here); undefined otherwise (the pool's replicas, upstreams, a model not loaded),
   * and chunks are sized by the estimate. Asked per file: the model may load after the start.
   */
  tokenCounter?(): TokenCounter | undefined;
  /** The most tokens the model embeds in one input (its context), where its status says; chunks are cut to fit. */
  maxInputTokens?(): number | undefined;
}

/** Inputs per engine call. */
const batchSize = 32;

/** Scales a vector to unit length (a zero vector stays zero). */
export function normalise(values: readonly number[]): Float32Array {
  let norm = 0;
  for (const value of values) norm += value * value;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return Float32Array.from(values, (value) => value * scale);
}

/** The embedder over a served model, on the accounting path. */
export function billedChunkEmbedder(accounting: Accounting, catalog: ModelCatalog, model: string): ChunkEmbedder {
  return {
    model,
    authorize: (payer) => authorizeInference(payer, model, catalog.canonical(model)),
    tokenCounter() {
      const canonical = catalog.canonical(model);
      let engine: Engine;
      try {
        engine = catalog.resolve(model);
      } catch {
        return undefined;
      }
      if (engine.countTokens?.(canonical, '') === undefined) return undefined;
      return (text) => engine.countTokens!(canonical, text) ?? approximateTokens(text);
    },
    maxInputTokens() {
      const canonical = catalog.canonical(model);
      const context = catalog.list().find((status) => status.id === canonical && status.state === 'ready')?.contextLength;
      // Three positions less: llama.cpp keeps one free and adds up to two markers (BOS, EOS) to an
      // input, as BERT-style engines add CLS and SEP.
      return context === undefined ? undefined : Math.max(1, context - 3);
    },
    async embed(texts, payer, cancel = new Cancellation(), parentId) {
      const route = catalog.route(model);
      const out: Float32Array[] = [];
      for (let start = 0; start < texts.length; start += batchSize) {
        const input = texts.slice(start, start + batchSize);
        const result = await billedEmbedding(
          accounting,
          {
            requestId: newTimeOrderedId('emb-'),
            kind: 'embedding',
            principal: payer,
            model,
            models: route.models,
            estimate: () => ({ promptTokens: estimateEmbeddingTokens(input), maxTokens: 0 }),
            stream: false,
            ...(parentId !== undefined ? { parentId } : {}),
          },
          cancel,
          (call) => route.embed({ model, input }, call),
        );
        for (const vector of result.embeddings) out.push(normalise(vector));
      }
      return out;
    },
  };
}
