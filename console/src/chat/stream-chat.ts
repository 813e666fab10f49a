/** Sends a chat request with `stream: true` and hands every chunk to `onChunk` as it arrives. */
import { ApiError, authHeaders, describeFailure } from '../api/client.js';
import { SseParser } from '../api/sse.js';
import type { ChatChunk } from './chat-state.js';

export interface ChatRequest {
  model: string;
  messages: Array<{ role: string; content: string }>;
  temperature: number;
  max_tokens: number;
  top_p: number;
  /** The device tool loop, when the playground acts on devices. */
  nimbus?: { devices: true | string[]; conversation: string; approvals?: string[] };
}

export async function streamChat(request: ChatRequest, onChunk: (chunk: ChatChunk) => void, signal: AbortSignal): Promise<void> {
  let response: Response;
  try {
    response = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: authHeaders({ 'content-type': 'application/json' }),
      body: JSON.stringify({ ...request, stream: true, stream_options: { include_usage: true } }),
      signal,
    });
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
    for (const event of parser.push(value)) {
      if (event.data === '[DONE]') return;
      const parsed = JSON.parse(event.data) as ChatChunk & { error?: { message?: string } };
      // A failure after the first token arrives as an error event in the stream.
      if (parsed.error) throw new ApiError(`The answer stopped: ${parsed.error.message ?? 'the server reported an error'}`, 200, null);
      onChunk(parsed);
    }
  }
}
