/** Sends a chat request with `stream: true` and hands every chunk to `onChunk` as it arrives. */
import { ApiError } from '../api/client.js';
import { postEventStream } from '../api/post-stream.js';
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

export function streamChat(request: ChatRequest, onChunk: (chunk: ChatChunk) => void, signal: AbortSignal): Promise<void> {
  return postEventStream('/v1/chat/completions', { ...request, stream: true, stream_options: { include_usage: true } }, signal, (data) => {
    if (data === '[DONE]') return true;
    const parsed = JSON.parse(data) as ChatChunk & { error?: { message?: string } };
    // A failure after the first token arrives as an error event in the stream.
    if (parsed.error) throw new ApiError(`The answer stopped: ${parsed.error.message ?? 'the server reported an error'}`, 200, null);
    onChunk(parsed);
  });
}
