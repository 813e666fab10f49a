/**
 * POSTs JSON with this tab's key and reads the answer as a server-sent event stream, handing each
 * event's data to `onData` as it arrives; `onData` returns true to stop reading (chat's
 * `[DONE]`). A request the page aborted ends quietly; a refusal before the stream is an ApiError
 * in words, as `api` gives it.
 */
import { ApiError, authHeaders, describeFailure } from './client.js';
import { SseParser } from './sse.js';

export async function postEventStream(path: string, body: unknown, signal: AbortSignal, onData: (data: string) => boolean | void): Promise<void> {
  let response: Response;
  try {
    response = await fetch(path, { method: 'POST', headers: authHeaders({ 'content-type': 'application/json' }), body: JSON.stringify(body), signal });
  } catch (error) {
    if (signal.aborted) return;
    throw new ApiError(`Cannot reach the Nimbus server: ${(error as Error).message}`, 0, null);
  }
  if (!response.ok || !response.body) throw describeFailure(response.status, await response.json().catch(() => null));
  const parser = new SseParser();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    for (const event of parser.push(value)) if (onData(event.data) === true) return;
  }
}
