/**
 * Text to index terms as SQLite's FTS5 `porter unicode61 remove_diacritics 2` tokenizer makes
 * them: runs of letters, digits and private-use characters (Unicode categories L*, N*, Co),
 * lower-cased, diacritics removed, then Porter-stemmed (porter-stem.ts). The PostgreSQL index
 * uses it to hold the terms FTS5 would; SQLite's search uses it to look up the query's terms.
 * Equal to FTS5's terms on every abstract of BEIR SciFact (tokenize.test.ts checks a sample).
 */
import { porterStem } from './porter-stem.js';

const separators = /[^\p{L}\p{N}\p{Co}]+/u;
const marks = /\p{Mn}/gu;
const ascii = /^[\x00-\x7f]*$/;

/**
 * Unicode's simple case folding, as FTS5 folds: a character goes to the lower case of its upper
 * case where that is one character (the micro sign to a Greek mu, a lunate epsilon to an epsilon).
 */
function foldCase(text: string): string {
  return text.replace(/[^\x00-\x7f]/g, (character) => {
    const upper = character.toUpperCase();
    return upper.length === 1 ? upper.toLowerCase() : character;
  });
}

/** The lower-cased, diacritic-free words of a text, before stemming. */
export function words(text: string): string[] {
  const lower = text.toLowerCase();
  const folded = ascii.test(lower) ? lower : foldCase(lower.normalize('NFD').replace(marks, '').normalize('NFC'));
  return folded.split(separators).filter((word) => word !== '');
}

/** The index terms of a text, in order, repeats kept (term frequencies count them). */
export function terms(text: string): string[] {
  return words(text).map(porterStem);
}
