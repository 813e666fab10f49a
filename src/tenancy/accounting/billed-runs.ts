/**
 * The accounting path for callers without an HTTP response of their own: a later turn of the
 * device tool loop, a turn of a response, an embedding made while ingesting a file, a batch's
 * line. Each wraps one engine call in a billed call (admitted, settled, one ledger row), the
 * same path `serveGeneration` drives by hand for HTTP answers.
 */
import type { Cancellation } from '../../core/cancellation.js';
import type { EmbeddingResult, EngineCall, GenerationEvent } from '../../core/engine.js';
import type { Accounting } from './accounting.js';
import type { BilledCallSpec } from './billed-call.js';

/**
 * A generation as a billed call: admitted before the engine starts (a refusal is thrown from the
 * first `next()`), its events passed through, settled and recorded when it ends, is stopped, or
 * fails. `start` gets the EngineCall to hand the engine (tries, the reserved cap).
 */
export async function* billedGeneration(
  accounting: Accounting,
  spec: BilledCallSpec,
  cancel: Cancellation,
  start: (call: EngineCall) => AsyncIterable<GenerationEvent>,
): AsyncGenerator<GenerationEvent> {
  const billed = accounting.open(spec);
  let answered = false;
  try {
    await billed.admit();
    for await (const event of start(billed.engineCall(cancel))) {
      if (event.type === 'done') billed.served(event);
      else {
        answered = true;
        if (event.content || event.toolCalls?.length) billed.firstToken();
      }
      yield event;
    }
  } catch (error) {
    throw billed.failed(error, answered);
  } finally {
    billed.end(cancel.aborted);
  }
}

/** An embeddings call as a billed call: admitted, run, settled and recorded; the refusal or failure is thrown. */
export async function billedEmbedding(
  accounting: Accounting,
  spec: BilledCallSpec,
  cancel: Cancellation,
  embed: (call: EngineCall) => Promise<EmbeddingResult>,
): Promise<EmbeddingResult> {
  const billed = accounting.open(spec);
  try {
    await billed.admit();
    const result = await embed(billed.engineCall(cancel));
    billed.embedded(result);
    return result;
  } catch (error) {
    throw billed.failed(error);
  } finally {
    billed.end(cancel.aborted);
  }
}
