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

/** Base-62 digits in ASCII order, so that ids compare as their times do. */
const sortedDigits = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * A random id whose first 8 characters after the prefix are the millisecond clock in base 62
 * (good until the year 8900), so ids sort by creation time and index inserts append instead of
 * landing on random pages: the request ledger's unique id index cost ~4 us more per row with
 * wholly random ids (bench/ledger.ts). The remaining characters are random.
 */
export function newTimeOrderedId(prefix: string, length = 24, now = Date.now()): string {
  let time = '';
  for (let rest = now, digit = 0; digit < 8; digit += 1, rest = Math.floor(rest / 62)) time = sortedDigits[rest % 62]! + time;
  return newId(prefix + time, length - 8);
}
