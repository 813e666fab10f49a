/**
 * The Porter stemmer exactly as SQLite's FTS5 `porter` tokenizer runs it (fts5_porter.c), so that
 * a term stemmed here is the term FTS5 indexed: the PostgreSQL index and the SQLite one hold the
 * same terms, and the pruning of a SQLite search can look up a term's statistics. Tokens shorter
 * than 3 or longer than 64 bytes pass through, as in FTS5. Each step is a list of
 * `[suffix, replacement, condition]` tried in FTS5's order; the first suffix that matches ends the
 * step whether or not its condition holds (Porter's longest-match rule).
 */

type Condition = (stem: string) => boolean;
type Rule = readonly [suffix: string, replacement: string, condition: Condition];

function isVowel(character: string, yIsVowel: boolean): boolean {
  return character === 'a' || character === 'e' || character === 'i' || character === 'o' || character === 'u' || (yIsVowel && character === 'y');
}

/** Past the first vowel-consonant sequence from `start`: the index after it, or 0 when there is none. */
function gobbleVC(stem: string, start: number, previousConsonant: boolean): number {
  let consonant = previousConsonant;
  let index = start;
  for (; index < stem.length; index += 1) if (!(consonant = !isVowel(stem[index]!, consonant))) break;
  for (index += 1; index < stem.length; index += 1) if ((consonant = !isVowel(stem[index]!, consonant))) return index + 1;
  return 0;
}

/** m > 0. */
const measureAbove0: Condition = (stem) => gobbleVC(stem, 0, false) !== 0;
/** m > 1. */
const measureAbove1: Condition = (stem) => {
  const first = gobbleVC(stem, 0, false);
  return first !== 0 && gobbleVC(stem, first, true) !== 0;
};
/** m = 1. */
const measureIs1: Condition = (stem) => {
  const first = gobbleVC(stem, 0, false);
  return first !== 0 && gobbleVC(stem, first, true) === 0;
};
/** *o: ends consonant-vowel-consonant, the last not w, x or y. */
const endsCvc: Condition = (stem) => {
  const last = stem[stem.length - 1];
  if (last === 'w' || last === 'x' || last === 'y') return false;
  let mask = 0;
  let consonant = false;
  for (const character of stem) {
    consonant = !isVowel(character, consonant);
    mask = ((mask << 1) + (consonant ? 1 : 0)) & 0xff;
  }
  return (mask & 0x7) === 0x5;
};
/** *v*: contains a vowel. */
const hasVowel: Condition = (stem) => {
  for (let index = 0; index < stem.length; index += 1) if (isVowel(stem[index]!, index > 0)) return true;
  return false;
};
const always: Condition = () => true;
const measureAbove1AndSOrT: Condition = (stem) => (stem.endsWith('s') || stem.endsWith('t')) && measureAbove1(stem);

const step1b2: Rule[] = [
  ['at', 'ate', always],
  ['bl', 'ble', always],
  ['iz', 'ize', always],
];

const step2: Rule[] = [
  ['ational', 'ate', measureAbove0],
  ['tional', 'tion', measureAbove0],
  ['enci', 'ence', measureAbove0],
  ['anci', 'ance', measureAbove0],
  ['izer', 'ize', measureAbove0],
  ['logi', 'log', measureAbove0],
  ['bli', 'ble', measureAbove0],
  ['alli', 'al', measureAbove0],
  ['entli', 'ent', measureAbove0],
  ['eli', 'e', measureAbove0],
  ['ousli', 'ous', measureAbove0],
  ['ization', 'ize', measureAbove0],
  ['ation', 'ate', measureAbove0],
  ['ator', 'ate', measureAbove0],
  ['alism', 'al', measureAbove0],
  ['iveness', 'ive', measureAbove0],
  ['fulness', 'ful', measureAbove0],
  ['ousness', 'ous', measureAbove0],
  ['aliti', 'al', measureAbove0],
  ['iviti', 'ive', measureAbove0],
  ['biliti', 'ble', measureAbove0],
];

const step3: Rule[] = [
  ['ical', 'ic', measureAbove0],
  ['ness', '', measureAbove0],
  ['icate', 'ic', measureAbove0],
  ['iciti', 'ic', measureAbove0],
  ['ful', '', measureAbove0],
  ['ative', '', measureAbove0],
  ['alize', 'al', measureAbove0],
];

const step4: Rule[] = [
  ['al', '', measureAbove1],
  ['ance', '', measureAbove1],
  ['ence', '', measureAbove1],
  ['er', '', measureAbove1],
  ['ic', '', measureAbove1],
  ['able', '', measureAbove1],
  ['ible', '', measureAbove1],
  ['ant', '', measureAbove1],
  ['ement', '', measureAbove1],
  ['ment', '', measureAbove1],
  ['ent', '', measureAbove1],
  ['ion', '', measureAbove1AndSOrT],
  ['ou', '', measureAbove1],
  ['ism', '', measureAbove1],
  ['ate', '', measureAbove1],
  ['iti', '', measureAbove1],
  ['ous', '', measureAbove1],
  ['ive', '', measureAbove1],
  ['ize', '', measureAbove1],
];

/**
 * Applies the first rule whose suffix ends `word` (with at least one character before it); the
 * word with the replacement when its condition holds. `matched` says whether the replacement ran.
 */
function applyRules(word: string, rules: readonly Rule[]): { word: string; matched: boolean } {
  for (const [suffix, replacement, condition] of rules) {
    if (word.length <= suffix.length || !word.endsWith(suffix)) continue;
    const stem = word.slice(0, -suffix.length);
    return condition(stem) ? { word: stem + replacement, matched: true } : { word, matched: false };
  }
  return { word, matched: false };
}

function step1a(word: string): string {
  if (!word.endsWith('s')) return word;
  const length = word.length;
  if (word[length - 2] === 'e') {
    if ((length > 4 && word[length - 4] === 's' && word[length - 3] === 's') || (length > 3 && word[length - 3] === 'i')) return word.slice(0, -2);
    return word.slice(0, -1);
  }
  return word[length - 2] !== 's' ? word.slice(0, -1) : word;
}

/** Step 1b: `eed` -> `ee` (m > 0); `ed`, `ing` dropped after a vowel, then tidied. */
function step1b(word: string): string {
  if (word.length > 3 && word.endsWith('eed')) return measureAbove0(word.slice(0, -3)) ? word.slice(0, -1) : word;
  let stem: string;
  if (word.length > 2 && word.endsWith('ed')) stem = word.slice(0, -2);
  else if (word.length > 3 && word.endsWith('ing')) stem = word.slice(0, -3);
  else return word;
  if (!hasVowel(stem)) return word;
  const tidied = applyRules(stem, step1b2);
  if (tidied.matched) return tidied.word;
  const last = stem[stem.length - 1]!;
  if (!isVowel(last, false) && last !== 'l' && last !== 's' && last !== 'z' && last === stem[stem.length - 2]) return stem.slice(0, -1);
  if (measureIs1(stem) && endsCvc(stem)) return `${stem}e`;
  return stem;
}

/** A lower-cased token's stem, as FTS5's porter tokenizer makes it. */
export function porterStem(token: string): string {
  const bytes = Buffer.byteLength(token);
  if (bytes > 64 || bytes < 3) return token;
  let word = step1b(step1a(token));
  if (word.endsWith('y') && hasVowel(word.slice(0, -1))) word = `${word.slice(0, -1)}i`;
  word = applyRules(word, step2).word;
  word = applyRules(word, step3).word;
  word = applyRules(word, step4).word;
  if (word.endsWith('e')) {
    const stem = word.slice(0, -1);
    if (measureAbove1(stem) || (measureIs1(stem) && !endsCvc(stem))) word = stem;
  }
  if (word.length > 1 && word.endsWith('ll') && measureAbove1(word.slice(0, -1))) word = word.slice(0, -1);
  return word;
}
