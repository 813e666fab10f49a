/**
 * PDF parsing with unpdf on a PDF this test makes: each page's text in order; a truncated or
 * garbled PDF, and one with no text layer, fail with a reason and their code.
 */
import { expect, test } from 'vitest';
import { parseFile } from '../src/knowledge/parse-file.js';
import { makePdf } from './support/make-pdf.js';

test('a PDF gives its pages’ text in order, whatever its name says', async () => {
  const pdf = makePdf([['Antarctic krill are small crustaceans.', 'Whales (and seals) eat krill.'], ['Lava flows from volcanoes.']]);
  const text = await parseFile(pdf, 'paper.pdf');
  expect(text).toBe('Antarctic krill are small crustaceans.\nWhales (and seals) eat krill.\n\nLava flows from volcanoes.');
  expect(await parseFile(pdf, 'download')).toBe(text);
});

test('a truncated, garbled or textless PDF fails with the reason', async () => {
  const pdf = makePdf([['Some text to cut off.']]);
  await expect(parseFile(pdf.subarray(0, 150), 'cut.pdf')).rejects.toMatchObject({
    code: 'invalid_file',
    message: expect.stringContaining('not a readable PDF'),
  });
  await expect(parseFile(Buffer.from('%PDF-1.4 whales'), 'paper.pdf')).rejects.toMatchObject({ code: 'invalid_file' });
  await expect(parseFile(makePdf([[]]), 'scan.pdf')).rejects.toMatchObject({ code: 'unsupported_file', message: expect.stringContaining('no text layer') });
});
