/**
 * An Engine that plays a script: each chat turn returns the next scripted answer (tool calls or
 * text), and every request it received is kept, so a test can see what the model was shown
 * (tool results, untrusted markers). It stands in for a model in conversations that must be exact.
 */
import type { EmbeddingResult, Engine, EngineCall, GenerationEvent, ModelStatus } from '../../src/core/engine.js';
import type { ChatCompletionRequest, EmbeddingRequest } from '../../src/core/openai/request-schemas.js';

/** One scripted model turn: tool calls (name and arguments) or text; `after` holds the turn until it settles. */
export type ScriptedTurn = ({ calls: Array<{ name: string; arguments: unknown }> } | { text: string }) & { after?: Promise<unknown> };

export class ScriptedEngine implements Engine {
  readonly kind = 'scripted';
  readonly requests: ChatCompletionRequest[] = [];
  private script: ScriptedTurn[] = [];

  /** Replaces the script; turns past its end answer "done". */
  play(turns: ScriptedTurn[]): void {
    this.script = [...turns];
    this.requests.length = 0;
  }

  models(): ModelStatus[] {
    return [{ id: 'scripted', engine: 'scripted', state: 'ready', created: 0 }];
  }

  async *chat(request: ChatCompletionRequest, _call: EngineCall): AsyncGenerator<GenerationEvent> {
    this.requests.push(structuredClone(request));
    const turn: ScriptedTurn = this.script.shift() ?? { text: 'done' };
    await turn.after;
    const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
    if ('text' in turn) {
      yield { type: 'delta', content: turn.text };
      yield { type: 'done', finishReason: 'stop', usage };
      return;
    }
    yield {
      type: 'delta',
      toolCalls: turn.calls.map((call, index) => ({
        index,
        id: `call_${this.requests.length}_${index}`,
        type: 'function' as const,
        function: { name: call.name, arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments) },
      })),
    };
    yield { type: 'done', finishReason: 'tool_calls', usage };
  }

  complete(): AsyncIterable<GenerationEvent> {
    throw new Error('the scripted engine only chats');
  }

  /** Words hashed into 16 dimensions: enough for a hybrid search to run and be billed. */
  async embed(request: EmbeddingRequest): Promise<EmbeddingResult> {
    const inputs = Array.isArray(request.input) ? request.input : [request.input];
    const embeddings = inputs.map((text) => {
      const vector = new Array<number>(16).fill(0);
      for (const word of String(text).toLowerCase().split(/\W+/).filter(Boolean))
        vector[[...word].reduce((hash, char) => (hash * 31 + char.charCodeAt(0)) % 16, 0)]! += 1;
      return vector;
    });
    return { embeddings, promptTokens: inputs.length };
  }

  load() {
    return { active: 0, queued: 0 };
  }

  async close(): Promise<void> {}
}
