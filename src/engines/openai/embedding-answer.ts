/** An upstream's embeddings answer as vectors in input order, with its usage or an estimate. */
import type { EmbeddingResult } from '../../core/engine.js';
import type { Replica } from './replica.js';
import { malformedAnswer } from './upstream-failure.js';
import { estimateTokens, optionalCompute, readCompute, readUsage } from './upstream-usage.js';

interface EmbeddingsBody {
  data?: Array<{ index?: number; embedding?: unknown }>;
  usage?: unknown;
}

/** Parses an embeddings body; throws AttemptFailure when it is not one. */
export function embeddingAnswer(replica: Replica, body: string, input: readonly string[]): EmbeddingResult {
  let parsed: EmbeddingsBody;
  try {
    parsed = JSON.parse(body) as EmbeddingsBody;
  } catch {
    throw malformedAnswer(replica.provider, 'an embeddings body that is not JSON');
  }
  const data = Array.isArray(parsed.data) ? [...parsed.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)) : [];
  if (data.length !== input.length || !data.every((entry) => Array.isArray(entry.embedding))) {
    throw malformedAnswer(replica.provider, `${data.length} embeddings for ${input.length} inputs`);
  }
  const usage = readUsage({ completion_tokens: 0, ...(parsed.usage as object) });
  return {
    embeddings: data.map((entry) => entry.embedding as number[]),
    promptTokens: usage?.prompt_tokens ?? input.reduce((sum, text) => sum + estimateTokens(text), 0),
    servedBy: replica.id,
    // A pool worker's compute report, for the control plane's ledger.
    ...optionalCompute(readCompute(parsed.usage)),
  };
}
