/**
 * The hot-spot case of issue 24: Mooncake's arrivals and lengths, every prompt behind one 4-block
 * system prompt, the rest of it its own (shared by `simulate.ts` and `hot-spot.ts`).
 */
import type { TraceRequest } from './load-trace.js';

/** Mooncake's arrivals and lengths, every prompt behind one 4-block system prompt, the rest its own. */
export function sharedSystemPrompt(trace: readonly TraceRequest[]): TraceRequest[] {
  let next = 1_000_000_000;
  return trace.map((request) => ({
    ...request,
    blocks: [-1, -2, -3, -4, ...Array.from({ length: Math.max(1, (request.blocks?.length ?? 1) - 4) }, () => next++)],
    inputTokens: Math.max(request.inputTokens, 5 * 512),
  }));
}
