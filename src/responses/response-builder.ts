/**
 * Builds one response as it runs: its output items and, for a stream, OpenAI's events in order,
 * each with its `sequence_number`. The same builder serves a non-streamed response (its events
 * go nowhere), so both answer with the same object.
 */
import { newId } from '../core/ids.js';
import type { Usage } from '../core/openai/response-types.js';
import { messageItemId, type Item } from './response-items.js';

/** The Responses API's statuses. */
export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed' | 'cancelled';

/** A stream event: `type`, `sequence_number` and the type's fields. */
export type ResponseEvent = Record<string, unknown> & { type: string; sequence_number: number };

/** The Responses API's usage, from a chat usage. */
export function responseUsage(usage: Usage): Record<string, unknown> {
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.total_tokens,
  };
}

export class ResponseBuilder {
  readonly output: Item[] = [];
  private sequence = 0;
  private message: { item: Item; part: { type: 'output_text'; text: string; annotations: unknown[]; logprobs: unknown[] }; index: number } | undefined;

  constructor(
    /** The response object; `status`, `output`, `usage` and the rest change as it runs. */
    readonly response: Record<string, unknown> & { id: string },
    /** Where events go (nowhere for a non-streamed response). */
    private readonly emit: ((event: ResponseEvent) => void) | undefined,
  ) {
    response.output = this.output;
  }

  /** `response.created` and `response.in_progress`. */
  started(): void {
    // A whole answer sends no events: no snapshots made for them.
    if (!this.emit) return;
    this.send('response.created', { response: this.snapshot() });
    this.send('response.in_progress', { response: this.snapshot() });
  }

  /** Text of the model's answer: opens a message item on the first piece. */
  text(delta: string): void {
    if (!this.message) {
      const item: Item = { id: messageItemId(this.response.id, this.output.length), type: 'message', status: 'in_progress', role: 'assistant', content: [] };
      const part = { type: 'output_text' as const, text: '', annotations: [], logprobs: [] };
      const index = this.output.push(item) - 1;
      this.message = { item, part, index };
      this.send('response.output_item.added', { output_index: index, item: { ...item, content: [] } });
      this.send('response.content_part.added', { item_id: item.id, output_index: index, content_index: 0, part: { ...part } });
    }
    const open = this.message;
    open.part.text += delta;
    if (this.emit) this.send('response.output_text.delta', { item_id: open.item.id, output_index: open.index, content_index: 0, delta, logprobs: [] });
  }

  /** Adds annotations to the open message's text (the final answer's file citations), each with its event. */
  annotate(annotationsFor: (text: string) => Array<Record<string, unknown>>): void {
    const open = this.message;
    if (!open) return;
    for (const annotation of annotationsFor(open.part.text)) {
      const annotationIndex = open.part.annotations.push(annotation) - 1;
      this.send('response.output_text.annotation.added', {
        item_id: open.item.id,
        output_index: open.index,
        content_index: 0,
        annotation_index: annotationIndex,
        annotation,
      });
    }
  }

  /** Ends the open message item, if any (a tool call or the end of the response comes next). */
  closeMessage(status: 'completed' | 'incomplete' = 'completed'): void {
    const open = this.message;
    if (!open) return;
    this.message = undefined;
    open.item.content = [open.part];
    open.item.status = status;
    this.send('response.output_text.done', { item_id: open.item.id, output_index: open.index, content_index: 0, text: open.part.text, logprobs: [] });
    this.send('response.content_part.done', { item_id: open.item.id, output_index: open.index, content_index: 0, part: open.part });
    this.send('response.output_item.done', { output_index: open.index, item: open.item });
  }

  /** A call to a client-side function: a `function_call` item, its arguments as one delta. */
  functionCall(callId: string, name: string, args: string): void {
    this.closeMessage();
    const item: Item = { id: newId('fc_'), type: 'function_call', status: 'in_progress', call_id: callId, name, arguments: '' };
    const index = this.output.push(item) - 1;
    this.send('response.output_item.added', { output_index: index, item: { ...item } });
    this.send('response.function_call_arguments.delta', { item_id: item.id, output_index: index, delta: args });
    item.arguments = args;
    item.status = 'completed';
    this.send('response.function_call_arguments.done', { item_id: item.id, output_index: index, name, arguments: args });
    this.send('response.output_item.done', { output_index: index, item });
  }

  /** A finished item of another kind (a server-side tool call), with the events its kind sends before `output_item.done`. */
  item(item: Item, during: ReadonlyArray<[type: string, fields: Record<string, unknown>]> = []): void {
    this.closeMessage();
    const index = this.output.push(item) - 1;
    this.send('response.output_item.added', { output_index: index, item: { ...item, status: 'in_progress' } });
    for (const [type, fields] of during) this.send(type, { output_index: index, item_id: item.id, ...fields });
    this.send('response.output_item.done', { output_index: index, item });
  }

  /** Sets the final status and usage; the closing event is sent by `closed`, once the response is stored. */
  finish(status: ResponseStatus, usage: Usage | undefined, details: { incomplete?: string; error?: { code: string; message: string } } = {}): void {
    this.closeMessage(status === 'completed' ? 'completed' : 'incomplete');
    this.response.status = status;
    this.response.usage = usage ? responseUsage(usage) : null;
    this.response.incomplete_details = details.incomplete ? { reason: details.incomplete } : null;
    this.response.error = details.error ?? null;
  }

  /** The closing event: `response.completed`, `response.incomplete` or `response.failed` (a cancelled response too). */
  closed(): void {
    const { type, ...fields } = this.closingEvent();
    this.send(type, fields);
  }

  /** The closing event's type and fields, without a sequence number (what a replay of the stream sends). */
  closingEvent(): { type: string; response: Record<string, unknown> } {
    const status = this.response.status;
    const type = status === 'completed' ? 'response.completed' : status === 'incomplete' ? 'response.incomplete' : 'response.failed';
    return { type, response: this.snapshot() };
  }

  /** An `error` event (a failure mid-stream), before `response.failed`. */
  error(code: string, message: string, param: string | null): void {
    this.send('error', { code, message, param });
  }

  /** The response as it stands, copied (events must not change after they are sent). */
  snapshot(): Record<string, unknown> {
    return { ...this.response, output: this.output.map((item) => ({ ...item })) };
  }

  private send(type: string, fields: Record<string, unknown>): void {
    if (!this.emit) return;
    this.emit({ type, sequence_number: this.sequence++, ...fields });
  }
}
