/**
 * Reads `/v1/events` with fetch (EventSource cannot send the Authorization header) and hands
 * the events of each chunk to `onEvents`; reconnects after a pause when the stream ends or fails,
 * and stops when the key is refused (the sign-in form starts a new feed).
 */
import { authHeaders } from './client.js';
import { SseParser } from './sse.js';

/** `refused`: the server did not accept the key (signed out, or revoked); the feed stopped until the next sign-in. */
export type FeedStatus = 'connecting' | 'live' | 'retrying' | 'refused';

export interface FeedHandlers {
  /** The events of one chunk of the stream, in order. */
  onEvents(events: Array<{ type: string; data: unknown }>): void;
  onStatus(status: FeedStatus): void;
}

/** Starts the feed; returns the function that stops it. */
export function openEventFeed(handlers: FeedHandlers, retryMs = 2000): () => void {
  const abort = new AbortController();
  const run = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      handlers.onStatus('connecting');
      try {
        const response = await fetch('/v1/events', { headers: authHeaders({ accept: 'text/event-stream' }), signal: abort.signal });
        if (response.status === 401 || response.status === 403) {
          handlers.onStatus('refused');
          return;
        }
        if (!response.ok || !response.body) throw new Error(`status ${response.status}`);
        performance.mark('nimbus:feed-open');
        handlers.onStatus('live');
        const parser = new SseParser();
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const events = parser.push(value).map((event) => ({ type: event.event, data: JSON.parse(event.data) as unknown }));
          if (events.length > 0) {
            if (performance.getEntriesByName('nimbus:feed-first-events').length === 0) performance.mark('nimbus:feed-first-events');
            handlers.onEvents(events);
          }
        }
      } catch {
        if (abort.signal.aborted) return;
      }
      handlers.onStatus('retrying');
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  };
  void run();
  return () => abort.abort();
}
