/**
 * A batch generation that gives its slot up when an interactive request waits (slot-pool.ts asks)
 * and goes on later: each segment runs until it ends or yields at a token boundary; a yielded one
 * is continued by a request whose prompt holds the text so far (a chat's partial answer as the
 * open assistant message, a completion's prompt grown by it), asking only for the tokens still
 * allowed. The slot's KV state was saved to the prompt cache when the interactive request took
 * it, so the continuation evaluates little again. The caller sees one answer: the segments'
 * deltas in order, then one `done` with the first segment's prompt and every segment's output.
 */
import type { GenerationEvent, Priority } from '../../core/engine.js';
import type { ChatCompletionRequest, CompletionRequest } from '../../core/openai/request-schemas.js';
import type { Usage } from '../../core/openai/response-types.js';

/** How one segment takes its slot, and whether it yielded. */
export interface Turn {
  priority: Priority;
  /** Whether it may be asked to yield (a generation that can be continued). */
  yieldable: boolean;
  /** A continuation of a segment that yielded: first among batch waiters. */
  resumed: boolean;
  /** Set by the engine when the segment stopped because it was asked to yield, before its natural end. */
  yielded: boolean;
}

type Done = Extract<GenerationEvent, { type: 'done' }>;

/**
 * Runs `segment` over `first`, then over `next(first, text, used)` each time a segment yielded,
 * until one ends or the budget is spent (`next` gives undefined: the answer ends at its length).
 */
export async function* resumableGeneration<Request>(
  first: Request,
  segment: (request: Request, turn: Turn) => AsyncIterable<GenerationEvent>,
  next: (request: Request, text: string, used: number) => Request | undefined,
): AsyncGenerator<GenerationEvent> {
  let current = first;
  let text = '';
  let used = 0;
  let seconds = 0;
  let opening: Usage | undefined;
  for (let resumed = false; ; resumed = true) {
    const turn: Turn = { priority: 'batch', yieldable: true, resumed, yielded: false };
    let done: Done | undefined;
    for await (const event of segment(current, turn)) {
      if (event.type === 'done') {
        done = event;
        continue;
      }
      if (event.content) text += event.content;
      yield event;
    }
    if (!done) return;
    used += done.usage.completion_tokens;
    seconds += done.compute?.seconds ?? 0;
    opening ??= done.usage;
    const continued = turn.yielded ? next(first, text, used) : undefined;
    if (continued === undefined) {
      const usage: Usage = { ...opening, completion_tokens: used, total_tokens: opening.prompt_tokens + used };
      const finishReason = turn.yielded ? 'length' : done.finishReason;
      yield { ...done, finishReason, usage, ...(done.compute ? { compute: { ...done.compute, seconds } } : {}) };
      return;
    }
    current = continued;
  }
}

/** The chat request that continues `request` after `text` with `used` tokens spent; undefined when its budget is spent. */
export function continueChat(request: ChatCompletionRequest, text: string, used: number, cap: number | undefined): ChatCompletionRequest | undefined {
  const max = request.max_completion_tokens ?? request.max_tokens ?? cap;
  if (max !== undefined && max - used <= 0) return undefined;
  const messages = [...request.messages, { role: 'assistant' as const, content: text }];
  const left = max === undefined ? {} : request.max_completion_tokens != null ? { max_completion_tokens: max - used } : { max_tokens: max - used };
  return { ...request, messages, ...left };
}

/** The text completion that continues `request` after `text` with `used` tokens spent; undefined when its budget is spent. */
export function continueText<Request extends CompletionRequest & { prompt: string }>(
  request: Request,
  text: string,
  used: number,
  cap: number | undefined,
): Request | undefined {
  const max = request.max_tokens ?? cap ?? 16;
  if (max - used <= 0) return undefined;
  return { ...request, prompt: request.prompt + text, max_tokens: max - used };
}
