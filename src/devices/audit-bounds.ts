/**
 * What one audit entry may store. Inputs come from callers (a tool call's arguments, a REST
 * body) and a refused caller is still audited, so without a bound a key with no device scope
 * wrote 12 MB to the log in six requests. A detail field larger than `fieldBytes` is kept as its
 * sha256 and size (`{"elided": true, "sha256": ..., "bytes": ...}`): whoever holds the input can
 * show it is the one that was refused, and the log stays small.
 */
import { canonicalJson, sha256 } from './canonical-json.js';

/** Largest canonical JSON (in characters) one detail field keeps as it is. */
export const auditFieldBytes = 2048;
/** Largest canonical JSON of a whole detail: fields past it are elided too, largest first. */
export const auditDetailBytes = 16_384;
/** Longest free-text context field (model, conversation) kept as it is; longer ones become `sha256:HEX`. */
export const auditTextChars = 256;

/** A field too large to keep: its hash and size. */
export interface ElidedValue {
  elided: true;
  sha256: string;
  bytes: number;
}

function elide(text: string): ElidedValue {
  return { elided: true, sha256: sha256(text), bytes: Buffer.byteLength(text) };
}

/** The detail with every oversized field replaced by its hash and size; the same object when nothing is. */
export function boundDetail(detail: Record<string, unknown>): Record<string, unknown> {
  let texts: Array<[string, string]> | undefined;
  for (const [name, value] of Object.entries(detail)) {
    // Scalars and short strings cannot be large: skip serializing them (the hot path is all small).
    if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') continue;
    if (typeof value === 'string' && value.length <= auditFieldBytes / 8) continue;
    (texts ??= []).push([name, canonicalJson(value)]);
  }
  if (!texts) return detail;
  let total = texts.reduce((sum, [, text]) => sum + text.length, 0);
  if (total <= auditFieldBytes) return detail;
  const bounded: Record<string, unknown> = { ...detail };
  // Largest first: a detail over its total loses its biggest fields, not its small facts.
  for (const [name, text] of texts.sort((a, b) => b[1].length - a[1].length)) {
    if (text.length <= auditFieldBytes && total <= auditDetailBytes) break;
    bounded[name] = elide(text);
    total -= text.length;
  }
  return bounded;
}

/** A context string, or `sha256:HEX` of it when longer than `auditTextChars`. */
export function boundText(text: string | null): string | null {
  return text !== null && text.length > auditTextChars ? `sha256:${sha256(text)}` : text;
}
