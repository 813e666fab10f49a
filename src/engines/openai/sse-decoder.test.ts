import { describe, expect, test } from 'vitest';
import { SseDecoder } from './sse-decoder.js';

/** Decodes `bytes` fed in pieces cut at `cuts` (byte offsets). */
function decode(bytes: Buffer, cuts: number[] = []): string[] {
  const decoder = new SseDecoder();
  const events: string[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    events.push(...decoder.push(bytes.subarray(start, cut)));
    start = cut;
  }
  events.push(...decoder.end());
  return events;
}

const stream = Buffer.from(
  [
    'data: {"choices":[{"delta":{"role":"assistant"}}]}',
    '',
    ': keep-alive comment',
    '',
    'data: {"choices":[{"delta":{"content":"Once upon a time, 猫 🐈"}}]}',
    '',
    'event: message',
    'id: 7',
    'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}}',
    '',
    'data: [DONE]',
    '',
    '',
  ].join('\n'),
);
const expected = [
  '{"choices":[{"delta":{"role":"assistant"}}]}',
  '{"choices":[{"delta":{"content":"Once upon a time, 猫 🐈"}}]}',
  '{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}}',
  '[DONE]',
];

describe('SseDecoder', () => {
  test('whole events in one chunk', () => {
    expect(decode(stream)).toEqual(expected);
  });

  test('split at every byte: nothing lost, multi-byte characters intact', () => {
    expect(
      decode(
        stream,
        Array.from({ length: stream.length - 1 }, (_, index) => index + 1),
      ),
    ).toEqual(expected);
  });

  test('split into two at every possible byte', () => {
    for (let cut = 1; cut < stream.length; cut += 1) expect(decode(stream, [cut])).toEqual(expected);
  });

  test('CRLF and CR line endings, split between CR and LF', () => {
    const crlf = Buffer.from(stream.toString().replaceAll('\n', '\r\n'));
    expect(decode(crlf)).toEqual(expected);
    expect(
      decode(
        crlf,
        Array.from({ length: crlf.length - 1 }, (_, index) => index + 1),
      ),
    ).toEqual(expected);
    const cr = Buffer.from(stream.toString().replaceAll('\n', '\r'));
    expect(
      decode(
        cr,
        Array.from({ length: cr.length - 1 }, (_, index) => index + 1),
      ),
    ).toEqual(expected);
  });

  test('several data lines join into one line of the same JSON', () => {
    const events = decode(Buffer.from('data: {"a":\ndata: [1,\ndata: 2]}\n\n'));
    expect(events).toEqual(['{"a": [1, 2]}']);
    expect(JSON.parse(events[0]!)).toEqual({ a: [1, 2] });
  });

  test('"data:" without a space, and an empty data line', () => {
    expect(decode(Buffer.from('data:{"x":1}\n\ndata:\n\n'))).toEqual(['{"x":1}', '']);
  });

  test('a last event without its blank line is still delivered at the end', () => {
    expect(decode(Buffer.from('data: {"x":1}\n\ndata: {"usage":2}'))).toEqual(['{"x":1}', '{"usage":2}']);
    expect(decode(Buffer.from('data: {"x":1}\n'))).toEqual(['{"x":1}']);
  });

  test('comments and other fields alone produce no events', () => {
    expect(decode(Buffer.from(': ping\n\nevent: x\nid: 1\nretry: 10\n\n'))).toEqual([]);
  });

  test('events are returned by the chunk that completes them, not later', () => {
    const decoder = new SseDecoder();
    expect(decoder.push(Buffer.from('data: {"a"'))).toEqual([]);
    expect(decoder.push(Buffer.from(':1}\n'))).toEqual([]);
    expect(decoder.push(Buffer.from('\ndata: {"b":2}\n\ndata: {"c"'))).toEqual(['{"a":1}', '{"b":2}']);
    expect(decoder.push(Buffer.from(':3}\n\n'))).toEqual(['{"c":3}']);
  });
});
