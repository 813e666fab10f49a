/**
 * The vocabulary of the generated tiny Llama: a SentencePiece-style ('llama') tokenizer with the
 * three control tokens, 256 byte-fallback tokens and a few word pieces, laid out like
 * stories260K's. Byte tokens mean any text tokenizes; the pieces give the merges something to do.
 */

/** llama.cpp's token types (llama_token_type). */
const TokenType = { Normal: 1, Unknown: 2, Control: 3, Byte: 6 } as const;

/** Merge results first (scored highest, so merged first), then the single characters they build on. */
const pieces = '▁t he ▁a ▁s nd ▁the ▁and in er on ▁w ▁was ou ▁ e t a o h n s d r i w u'.split(' ');

/** Token texts, scores and types, index-aligned, plus the special token ids. */
export interface TinyVocabulary {
  tokens: string[];
  scores: number[];
  types: number[];
  unknownId: number;
  beginId: number;
  endId: number;
  /** Every token but printable ASCII bytes and word pieces: control tokens, and bytes that are not text alone. */
  unprintableIds: number[];
}

/** Builds the fixed tiny vocabulary. */
export function tinyVocabulary(): TinyVocabulary {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types: number[] = [TokenType.Unknown, TokenType.Control, TokenType.Control];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TokenType.Byte);
  }
  const scores = tokens.map(() => 0);
  pieces.forEach((piece, index) => {
    tokens.push(piece);
    scores.push(-index);
    types.push(TokenType.Normal);
  });
  const unprintableIds = types.flatMap((type, id) => (type === TokenType.Normal || isPrintableByte(id - 3, type) ? [] : [id]));
  return { tokens, scores, types, unknownId: 0, beginId: 1, endId: 2, unprintableIds };
}

function isPrintableByte(byte: number, type: number): boolean {
  return type === TokenType.Byte && byte >= 0x20 && byte < 0x7f;
}
