/**
 * An upper bound on a request's prompt tokens, known before the engine tokenizes it. Byte-level
 * BPE and SentencePiece with byte fallback never make more tokens than UTF-8 bytes, so the bytes
 * of the text (plus room for what a chat template adds) bound the real count from above: the
 * reservation may be ~4x the real prompt, and settlement refunds the difference, but a limit is
 * never passed because an estimate was low.
 */
import { Buffer } from 'node:buffer';
import type { ChatCompletionRequest } from '../core/openai/request-schemas.js';

/** Tokens a chat template may add around the messages (role markers, a default system prompt). */
const templateAllowance = 64;
/** Tokens the tool-calling instructions a template or the engine adds may take, beyond the tools' JSON. */
const toolsAllowance = 512;

/**
 * Prompt tokens of a chat request, at most. `bodyBytes` (the request's Content-Length), where
 * known, bounds the bytes of every message and tool without serializing them again: the body
 * holds each text as it is or escaped, never shorter.
 */
export function estimateChatPromptTokens(request: Pick<ChatCompletionRequest, 'messages' | 'tools'>, bodyBytes?: number): number {
  const tools = request.tools && request.tools.length > 0 ? toolsAllowance : 0;
  if (bodyBytes !== undefined && Number.isSafeInteger(bodyBytes) && bodyBytes > 0) return bodyBytes + templateAllowance + tools;
  // The JSON of each message spends more bytes on quotes and keys than a template spends tokens on its markers.
  let bytes = Buffer.byteLength(JSON.stringify(request.messages)) + templateAllowance;
  if (request.tools && request.tools.length > 0) bytes += Buffer.byteLength(JSON.stringify(request.tools)) + toolsAllowance;
  return bytes;
}

/** Prompt tokens of a text completion, at most. */
export function estimateTextPromptTokens(prompt: string): number {
  return Buffer.byteLength(prompt) + templateAllowance;
}

/** Prompt tokens of an embeddings call, at most. */
export function estimateEmbeddingTokens(inputs: readonly string[]): number {
  let bytes = 0;
  for (const input of inputs) bytes += Buffer.byteLength(input) + 2;
  return bytes;
}
