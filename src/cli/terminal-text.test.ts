import { expect, test } from 'vitest';
import { terminalSafe } from './terminal-text.js';

test.each([
  ['plain text', 'plain text'],
  ['line\nnext\ttab', 'line\nnext\ttab'],
  ['\u001b[31mred\u001b[0m', '\\u001b[31mred\\u001b[0m'],
  ['title\u001b]0;pwned\u0007', 'title\\u001b]0;pwned\\u0007'],
  ['over\rwrite', 'over\\u000dwrite'],
  ['del\u007f', 'del\\u007f'],
  ['c1\u009b2J', 'c1\\u009b2J'],
  ['bidi\u202eevil', 'bidi\\u202eevil'],
  ['café ✓', 'café ✓'],
])('%j -> %j', (input, output) => {
  expect(terminalSafe(input)).toBe(output);
});
