/**
 * Reads `/v1/events` with fetch (EventSource cannot send the Authorization header) and hands
 * each event to `onEvent`; reconnects after a pause when the stream ends or fails.
 */
import { authHeaders } from './client.js';
import { SseParser } from './sse.js';

export type FeedStatus = 'connecting' | 'live' | 'retrying';

export interface FeedHandlers {
  onEvent(type: string, data: unknown): void;
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
        if (!response.ok || !response.body) throw new Error(`status ${response.status}`);
        handlers.onStatus('live');
        const parser = new SseParser();
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const event of parser.push(value)) handlers.onEvent(event.event, JSON.parse(event.data));
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
