/**
 * What an app remembers of an end user, decided without a model (a small model cannot be trusted
 * to summarise): the last `memoryTurns` exchanges, each side's text cut to `memoryTurnBytes`
 * bytes, oldest dropped first until the whole fits `memoryBytes`. It goes into the instructions
 * as a plain transcript under a fixed heading, so what the model is told is exactly what
 * GET /v1/apps/NAME/memory/USER shows.
 */
import type { MemoryTurn } from '../core/app-store.js';

/** Exchanges kept per end user. */
export const memoryTurns = 8;
/** Bytes kept of each side of an exchange (cut on a character boundary, `…` marks a cut). */
export const memoryTurnBytes = 256;
/** Bytes the whole memory's text may take, at most. */
export const memoryBytes = 2048;

const heading = 'What you remember of this user from earlier conversations (oldest first):';

/** `text` cut to at most `bytes` UTF-8 bytes, on a character boundary, with `…` where it was cut. */
export function cutToBytes(text: string, bytes: number): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (Buffer.byteLength(clean) <= bytes) return clean;
  let cut = '';
  let used = Buffer.byteLength('…');
  for (const character of clean) {
    const size = Buffer.byteLength(character);
    if (used + size > bytes) break;
    cut += character;
    used += size;
  }
  return `${cut}…`;
}

/** The memory after one more exchange: appended, cut, and the oldest dropped until it fits. */
export function remember(turns: readonly MemoryTurn[], user: string, assistant: string): MemoryTurn[] {
  const next = [...turns, { user: cutToBytes(user, memoryTurnBytes), assistant: cutToBytes(assistant, memoryTurnBytes) }].slice(-memoryTurns);
  while (next.length > 1 && Buffer.byteLength(memoryText(next)) > memoryBytes) next.shift();
  return next;
}

/** The memory as the instructions carry it; '' when there is nothing to remember. */
export function memoryText(turns: readonly MemoryTurn[]): string {
  if (turns.length === 0) return '';
  return [heading, ...turns.map((turn) => `User: ${turn.user}\nAssistant: ${turn.assistant}`)].join('\n');
}

/** The app's instructions with the end user's memory after them. */
export function withMemory(instructions: string | undefined, turns: readonly MemoryTurn[]): string | undefined {
  const memory = memoryText(turns);
  if (!memory) return instructions;
  return instructions ? `${instructions}\n\n${memory}` : memory;
}
