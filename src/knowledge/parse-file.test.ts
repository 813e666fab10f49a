import { expect, test } from 'vitest';
import { FileParseError, htmlText, parseFile } from './parse-file.js';

const bytes = (text: string) => new TextEncoder().encode(text);

test('text and Markdown are read as they are, without a byte-order mark', async () => {
  expect(await parseFile(bytes('\ufeff# Title\n\nBody'), 'notes.md')).toBe('# Title\n\nBody');
  expect(await parseFile(bytes('plain'), 'no-extension')).toBe('plain');
});

test('HTML gives its visible text, blocks on their own lines, entities decoded', async () => {
  const html = '<html><head><style>p{}</style><script>alert(1)</script></head><body><h1>Title</h1><p>One &amp; two</p><p>three</p></body></html>';
  expect(await parseFile(bytes(html), 'page.html')).toBe('Title\nOne & two\nthree');
  expect(await parseFile(bytes(`<!DOCTYPE html>${html}`), 'page')).toBe('Title\nOne & two\nthree');
  expect(htmlText('<div>a<br>b</div>')).toBe('a\nb');
});

test('binary or broken files fail with the reason and its code', async () => {
  await expect(parseFile(bytes('PK'), 'slides.pptx')).rejects.toMatchObject({ code: 'unsupported_file' });
  await expect(parseFile(new Uint8Array([0xff, 0xfe, 0x41]), 'broken.txt')).rejects.toThrowError(FileParseError);
  await expect(parseFile(new Uint8Array([0xff, 0xfe, 0x41]), 'broken.txt')).rejects.toThrowError(/not valid UTF-8/);
  await expect(parseFile(new Uint8Array([0x41, 0x00, 0x42]), 'blob.bin')).rejects.toThrowError(/binary/);
});
