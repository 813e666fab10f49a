/**
 * Reads one model turn from an engine's events, whatever form they take: the llama engine's
 * parsed deltas, an upstream's pass-through chunks (`raw` or framed `sse`, chat.completion.chunk
 * payloads) or an upstream's whole body (`raw`, a chat.completion). Tool-call fragments are joined
 * by their index, so an upstream that streams a call's arguments in pieces gives one whole call.
 */
import type { GenerationEvent } from '../core/engine.js';
import type { FinishReason, ToolCall, ToolCallDelta, Usage } from '../core/openai/response-types.js';

/** What a turn's events said so far, and the text each event added (for a caller that streams it). */
export class TurnReader {
  text = '';
  readonly toolCalls: ToolCall[] = [];
  finishReason: FinishReason = 'stop';
  usage: Usage | undefined;
  private readonly byIndex = new Map<number, ToolCall>();

  /** Takes one event; returns the text it added ('' for none). */
  take(event: GenerationEvent): string {
    if (event.type === 'done') {
      this.finishReason = event.finishReason;
      this.usage = event.usage;
      return '';
    }
    if (event.sse !== undefined) return this.takePayloads(event.sse.split('\n\n').map((frame) => frame.replace(/^data: /, '')));
    if (event.raw !== undefined) return this.takePayloads([event.raw]);
    this.addCalls(event.toolCalls);
    return this.addText(event.content);
  }

  private takePayloads(payloads: string[]): string {
    let added = '';
    for (const payload of payloads) {
      if (payload === '' || payload === '[DONE]') continue;
      let body: ChunkOrWhole;
      try {
        body = JSON.parse(payload) as ChunkOrWhole;
      } catch {
        continue;
      }
      const choice = body.choices?.[0];
      if (!choice) continue;
      if (choice.message) {
        added += this.addText(choice.message.content ?? undefined);
        for (const call of choice.message.tool_calls ?? []) this.toolCalls.push(call);
      } else if (choice.delta) {
        added += this.addText(choice.delta.content ?? undefined);
        this.addCalls(choice.delta.tool_calls);
      }
    }
    return added;
  }

  private addText(content: string | undefined): string {
    if (!content) return '';
    this.text += content;
    return content;
  }

  private addCalls(deltas: ToolCallDelta[] | undefined): void {
    for (const delta of deltas ?? []) {
      const open = this.byIndex.get(delta.index);
      if (open && (delta.id === undefined || delta.id === open.id)) {
        open.function.arguments += delta.function.arguments;
        if (delta.function.name) open.function.name = open.function.name || delta.function.name;
        continue;
      }
      const call: ToolCall = {
        id: delta.id ?? `call_${this.toolCalls.length}`,
        type: 'function',
        function: { name: delta.function.name ?? '', arguments: delta.function.arguments },
      };
      this.byIndex.set(delta.index, call);
      this.toolCalls.push(call);
    }
  }
}

interface ChunkOrWhole {
  choices?: Array<{
    message?: { content?: string | null; tool_calls?: ToolCall[] };
    delta?: { content?: string | null; tool_calls?: ToolCallDelta[] };
  }>;
}
