import { randomBytes } from 'node:crypto';

const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Random bytes drawn 4 KiB at a time: one call into the system's generator per ~170 ids, not one per id (it showed in profiles). */
let pool = Buffer.alloc(0);
let offset = 0;

/** A random id after a readable prefix that includes its separator, e.g. `chatcmpl-3fZ9...`, `call_x1...` (OpenAI style). */
export function newId(prefix: string, length = 24): string {
  if (offset + length > pool.length) {
    pool = randomBytes(Math.max(4096, length));
    offset = 0;
  }
  let out = prefix;
  for (let index = offset; index < offset + length; index += 1) out += alphabet[pool[index]! % alphabet.length];
  offset += length;
  return out;
}
