/**
 * Session ids for the traces. Neither public trace has a user or conversation field, so session
 * affinity used to key on the first block, which sends every prompt behind one shared system
 * prompt to one replica. Mooncake's conversations can be recovered: a request whose prompt starts
 * with the whole prompt of an earlier one is that conversation's next turn (1,456 of its 3,993
 * requests). Each other request starts a session of its own. Azure's conversation trace has no
 * prompt content at all, so it has no sessions (session affinity falls back to round-robin there).
 */
import type { TraceRequest } from './load-trace.js';

/** Session id per request: the index of the first request of its conversation. */
export function conversationSessions(trace: readonly TraceRequest[]): Array<string | undefined> {
  // A prompt's whole block list, and the list without its last (partial) block, name its session.
  const byPrompt = new Map<string, string>();
  return trace.map((request, index) => {
    const blocks = request.blocks;
    if (!blocks || blocks.length === 0) return undefined;
    let session: string | undefined;
    for (let length = blocks.length - 1; length >= 1 && session === undefined; length -= 1) session = byPrompt.get(blocks.slice(0, length).join(','));
    session ??= String(index);
    byPrompt.set(blocks.join(','), session);
    if (blocks.length > 1) byPrompt.set(blocks.slice(0, -1).join(','), session);
    return session;
  });
}
