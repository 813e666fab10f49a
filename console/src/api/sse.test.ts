import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

describe('SseParser', () => {
  it('joins events split across chunks and skips comments', () => {
    const parser = new SseParser();
    expect(parser.push('event: twin\nda')).toEqual([]);
    expect(parser.push('ta: {"a":1}\n\n: ping\n\ndata: x\r\n')).toEqual([{ event: 'twin', data: '{"a":1}' }]);
    expect(parser.push('data: y\n\n')).toEqual([{ event: 'message', data: 'x\ny' }]);
  });
});
