/**
 * Grammars for JSON numbers that a JSON Schema bounds, built as a small expression tree and
 * rendered as GBNF (for llama.cpp) or as a regular expression (for tests, which check them
 * against every value near the bounds).
 *
 * Integers: any range of safe integers, one- or two-sided, exactly, digit by digit (the same
 * construction as llama.cpp's json-schema-to-grammar: split by digit count, then by the first
 * digit that differs between the bounds). A missing bound is +-(2^53-1), so an integer always
 * comes out as plain digits that JavaScript reads exactly: never `1e4000`, `-3e-3` or `-0`.
 *
 * Other numbers: plain decimals with no exponent (at most 15 digits on each side of the point, so
 * every one parses to a finite double), with their sign held where the schema says `>= 0`, `> 0`,
 * `<= 0` or `< 0`. Other float ranges are checked after generation (output-check.ts).
 */

/** A grammar expression: a literal, digits from a range (repeated), a sequence or a choice. */
export type GrammarNode =
  | { kind: 'literal'; text: string }
  | { kind: 'digits'; from: number; to: number; min: number; max: number }
  | { kind: 'sequence'; parts: GrammarNode[] }
  | { kind: 'choice'; options: GrammarNode[] };

/** The largest integer JavaScript holds exactly: a bound this wide (zod's `.int()`) is no bound. */
export const maxSafe = Number.MAX_SAFE_INTEGER;

const literal = (text: string): GrammarNode => ({ kind: 'literal', text });
const digits = (from: number, to: number, min = 1, max = min): GrammarNode => ({ kind: 'digits', from, to, min, max });
function sequence(...parts: GrammarNode[]): GrammarNode {
  const kept = parts.filter((part) => !(part.kind === 'literal' && part.text === ''));
  return kept.length === 1 ? kept[0]! : { kind: 'sequence', parts: kept };
}
function choice(options: GrammarNode[]): GrammarNode {
  return options.length === 1 ? options[0]! : { kind: 'choice', options };
}

/** Non-negative integers from `from` to `to`, written with the same number of digits. */
function sameLength(from: string, to: string): GrammarNode {
  if (from === to) return literal(from);
  let shared = 0;
  while (from[shared] === to[shared]) shared += 1;
  const prefix = literal(from.slice(0, shared));
  const low = Number(from[shared]);
  const high = Number(to[shared]);
  const rest = from.length - shared - 1;
  if (rest === 0) return sequence(prefix, digits(low, high));
  const fromRest = from.slice(shared + 1);
  const toRest = to.slice(shared + 1);
  const fromZeros = /^0+$/.test(fromRest);
  const toNines = /^9+$/.test(toRest);
  const options: GrammarNode[] = [];
  // low followed by at least fromRest; the digits strictly between with anything; high followed by at most toRest.
  if (!fromZeros) options.push(sequence(literal(String(low)), sameLength(fromRest, '9'.repeat(rest))));
  const middleLow = fromZeros ? low : low + 1;
  const middleHigh = toNines ? high : high - 1;
  if (middleLow <= middleHigh) options.push(sequence(digits(middleLow, middleHigh), digits(0, 9, rest)));
  if (!toNines) options.push(sequence(literal(String(high)), sameLength('0'.repeat(rest), toRest)));
  return sequence(prefix, choice(options));
}

/** Non-negative integers from `low` to `high` (low <= high), without leading zeros. */
function naturals(low: number, high: number): GrammarNode {
  const options: GrammarNode[] = [];
  const highText = String(high);
  for (let length = String(low).length; length <= highText.length; length += 1) {
    const from = length === String(low).length ? String(low) : `1${'0'.repeat(length - 1)}`;
    const to = length === highText.length ? highText : '9'.repeat(length);
    options.push(sameLength(from, to));
  }
  return choice(options);
}

/** Integers from `low` to `high`, both safe integers with low <= high. */
export function integerRange(low: number, high: number): GrammarNode {
  if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || low > high) throw new RangeError(`no integer range from ${low} to ${high}`);
  const options: GrammarNode[] = [];
  // Negative values as "-" and their magnitude (never "-0").
  if (low < 0) options.push(sequence(literal('-'), naturals(Math.max(1, -high), -low)));
  if (high >= 0) options.push(naturals(Math.max(0, low), high));
  return choice(options);
}

/** Which signs a number may have. */
export type NumberSign = 'any' | 'nonnegative' | 'positive' | 'nonpositive' | 'negative';

/** Plain decimals (no exponent, at most 15 digits each side of the point) of the given sign. */
export function decimal(sign: NumberSign): GrammarNode {
  const fraction = sequence(literal('.'), digits(0, 9, 1, 15));
  const optionalFraction = choice([fraction, literal('')]);
  const whole = choice([literal('0'), sequence(digits(1, 9), digits(0, 9, 0, 14))]);
  const unsigned = sequence(whole, optionalFraction);
  // Above zero: a leading digit 1-9, or "0." with some digit 1-9 after the zeros.
  const aboveZero = choice([
    sequence(digits(1, 9), digits(0, 9, 0, 14), optionalFraction),
    sequence(literal('0.'), { kind: 'digits', from: 0, to: 0, min: 0, max: 14 }, digits(1, 9), digits(0, 9, 0, 14)),
  ]);
  const zero = sequence(literal('0'), choice([sequence(literal('.'), { kind: 'digits', from: 0, to: 0, min: 1, max: 15 }), literal('')]));
  switch (sign) {
    case 'any':
      return sequence(choice([literal('-'), literal('')]), unsigned);
    case 'nonnegative':
      return unsigned;
    case 'positive':
      return aboveZero;
    case 'nonpositive':
      return choice([zero, sequence(literal('-'), aboveZero)]);
    case 'negative':
      return sequence(literal('-'), aboveZero);
  }
}

/** The GBNF text of an expression. */
export function toGbnf(node: GrammarNode): string {
  switch (node.kind) {
    case 'literal':
      return node.text === '' ? '""' : JSON.stringify(node.text);
    case 'digits': {
      const range = node.from === node.to ? `[${node.from}]` : `[${node.from}-${node.to}]`;
      if (node.min === 1 && node.max === 1) return range;
      return node.min === node.max ? `${range}{${node.min}}` : `${range}{${node.min},${node.max}}`;
    }
    case 'sequence':
      return node.parts.map((part) => (part.kind === 'choice' ? `(${toGbnf(part)})` : toGbnf(part))).join(' ');
    case 'choice':
      return node.options.map(toGbnf).join(' | ');
  }
}

/** The same language as a regular expression source (anchored by the caller). */
export function toRegExpSource(node: GrammarNode): string {
  switch (node.kind) {
    case 'literal':
      return node.text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
    case 'digits': {
      const range = `[${node.from}-${node.to}]`;
      return node.min === 1 && node.max === 1 ? range : `${range}{${node.min},${node.max}}`;
    }
    case 'sequence':
      return node.parts.map(toRegExpSource).join('');
    case 'choice':
      return `(?:${node.options.map(toRegExpSource).join('|')})`;
  }
}
