import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { systemClock } from '../../core/clock.js';
import { providerConfigSchema } from '../../core/config.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { Replica } from './replica.js';
import { SseDecoder } from './sse-decoder.js';
import { mayCarryAccounting, StreamAccount, valueOf, type RelayOptions } from './stream-account.js';
import { AttemptFailure } from './upstream-failure.js';
import { UpstreamProvider } from './upstream-provider.js';
import { mapFinishReason, readUsage } from './upstream-usage.js';

describe('mayCarryAccounting: which events are read once tokens flow', () => {
  test.each([
    ['{"choices":[{"delta":{"content":"hi"},"finish_reason":null}],"usage":null}', false],
    ['{"choices":[{"delta":{"content":"hi"},"finish_reason":null}]}', false],
    ['{"choices":[{"delta":{},"finish_reason":"stop"}]}', true],
    ['{"choices": [{"delta": {}, "finish_reason": "length"}]}', true],
    ['{"choices":[{"delta":{},"finish_reason"\t:\n"length"}]}', true],
    ['{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}', true],
    ['{"choices": [], "usage": {"prompt_tokens": 1}}', true],
    ['{"error":{"message":"boom"}}', true],
    // A token whose text mentions the keys is escaped inside a string: not a field.
    ['{"choices":[{"delta":{"content":"\\"usage\\": {} and \\"finish_reason\\": \\"stop\\""},"finish_reason":null}]}', false],
  ])('%s -> %s', (payload, expected) => {
    expect(mayCarryAccounting(payload)).toBe(expected);
  });
});

describe('valueOf: where a key has a value', () => {
  test.each([
    ['{"a":1}', '"a"', 5],
    ['{"a" : 1}', '"a"', 7],
    ['{"a":null,"b":{"a":2}}', '"a"', 19],
    ['{"a":null}', '"a"', -1],
    ['{"x":"\\"a\\":1"}', '"a"', -1],
    ['{"ba":1}', '"a"', -1],
  ])('%s %s -> %d', (payload, key, expected) => {
    expect(valueOf(payload, key)).toBe(expected);
  });
});

const provider = new UpstreamProvider(providerConfigSchema.parse({ id: 'up', baseUrl: 'http://127.0.0.1:9/v1' }), {});
const replica = new Replica('m', 'm', provider, new CircuitBreaker({ failureThreshold: 5, openMs: 1000 }, systemClock));

function account(kind: RelayOptions['kind'] = 'chat', clientWantsUsage = true): StreamAccount {
  return new StreamAccount(replica, { kind, clientWantsUsage, estimatePromptTokens: () => 7 });
}

/** What an event must yield, worked out by parsing it: the oracle the scanning reader is held to. */
function expected(payload: string, kind: RelayOptions['kind'], clientWantsUsage: boolean) {
  const chunk = JSON.parse(payload) as {
    choices?: Array<{ delta?: { content?: unknown; reasoning_content?: unknown; tool_calls?: unknown[] }; text?: unknown; finish_reason?: unknown }>;
    usage?: unknown;
  };
  const choice = chunk.choices?.[0];
  const nonEmpty = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const text = kind === 'chat' ? (nonEmpty(choice?.delta?.content) ?? nonEmpty(choice?.delta?.reasoning_content)) : nonEmpty(choice?.text);
  const usage = readUsage(chunk.usage);
  const dropped = usage !== undefined && chunk.choices?.length === 0 && !clientWantsUsage;
  const toolCalls = !text && (choice?.delta?.tool_calls?.length ?? 0) > 0 ? choice?.delta?.tool_calls : undefined;
  return { dropped, content: text, toolCalls, finish: mapFinishReason(choice?.finish_reason), usage };
}

function taken(payload: string, kind: RelayOptions['kind'], clientWantsUsage: boolean) {
  const reader = account(kind, clientWantsUsage);
  const event = reader.take(payload, true);
  return { dropped: event === undefined, content: event?.content, toolCalls: event?.toolCalls, finish: reader.finishReason, usage: reader.usage };
}

const recorded = (name: string): string[] =>
  new SseDecoder().push(readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url))).filter((payload) => payload !== '[DONE]');

const unusual = [
  // Text that spells out the fields it must not be taken for.
  '{"choices":[{"index":0,"delta":{"content":"say \\"finish_reason\\":\\"stop\\" and \\"usage\\":{\\"prompt_tokens\\":1}"},"finish_reason":null}]}',
  // Escapes, a backslash at the end of the text, characters outside ASCII.
  '{"choices":[{"index":0,"delta":{"content":"caf\\u00e9 \\\\ \\n ✓ 😀 \\\\"},"finish_reason":null}]}',
  '{"choices":[{"index":0,"delta":{"content":"a\\"b"},"finish_reason":null}]}',
  // Whitespace wherever JSON allows it.
  '{ "choices" : [ { "index" : 0 , "delta" : { "content" : "spaced" } , "finish_reason" : null } ] }',
  '{\n"choices":[{"delta":{"content":"lines"},\r\n"finish_reason":\t"length"}]}',
  // Log probabilities, whose `content` is a list, before and after the text.
  '{"choices":[{"index":0,"logprobs":{"content":[{"token":"Hi","logprob":-0.1,"bytes":[72,105],"top_logprobs":[]}]},"delta":{"content":"Hi"},"finish_reason":null}]}',
  '{"choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":{"content":[{"token":"Hi","logprob":-0.1}]},"finish_reason":null}]}',
  // Reasoning servers: the thought before the answer.
  '{"choices":[{"index":0,"delta":{"content":null,"reasoning_content":"thinking"},"finish_reason":null}]}',
  '{"choices":[{"index":0,"delta":{"content":"","reasoning_content":"thinking"},"finish_reason":null}]}',
  '{"choices":[{"index":0,"delta":{"reasoning_content":""},"finish_reason":null}]}',
  // Finish reasons in other servers' words.
  '{"choices":[{"index":0,"delta":{},"finish_reason":"eos"}]}',
  '{"choices":[{"index":0,"delta":{},"finish_reason":"max_tokens"}]}',
  '{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}',
  '{"choices":[{"index":0,"delta":{},"finish_reason":"something new"}]}',
  '{"choices":[{"index":0,"delta":{},"finish_reason":"odd\\"quote"}]}',
  '{"choices":[{"index":0,"delta":{},"finish_reason":7}]}',
  // Usage: alone, with details, with a pool worker's compute report, inside a finish chunk, null, nonsense.
  '{"id":"x","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}',
  '{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":8}}}',
  '{"choices":[ ],"usage":{"prompt_tokens":9,"completion_tokens":4,"nimbus_compute":{"device_class":"gpu","seconds":0.5},"note":"a } in text"}}',
  '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}',
  '{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"usage":null}',
  '{"choices":[],"usage":{"prompt_tokens":"nine"}}',
  '{"choices":[],"usage":[1,2]}',
  // Tool calls: parsed, whatever their shape.
  '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lamp","arguments":""}}]},"finish_reason":null}]}',
  '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"on\\": true}"}}]},"finish_reason":null}]}',
  // Text completions.
  '{"object":"text_completion","choices":[{"index":0,"text":" there","logprobs":null,"finish_reason":null}]}',
  '{"object":"text_completion","choices":[{"index":0,"text":"","logprobs":{"text_offset":[0]},"finish_reason":"length"}]}',
];

describe('StreamAccount reads every event as parsing it would', () => {
  const corpus = [...recorded('chat-stream.sse'), ...recorded('chat-tool-stream.sse'), ...recorded('completion-stream.sse'), ...unusual];
  const cases = corpus.flatMap((payload) => [
    { payload, kind: payload.includes('"text_completion"') ? ('completion' as const) : ('chat' as const), clientWantsUsage: true },
    { payload, kind: payload.includes('"text_completion"') ? ('completion' as const) : ('chat' as const), clientWantsUsage: false },
  ]);

  test.each(cases)('$kind, usage asked: $clientWantsUsage: $payload', ({ payload, kind, clientWantsUsage }) => {
    expect(taken(payload, kind, clientWantsUsage)).toEqual(expected(payload, kind, clientWantsUsage));
  });

  test('the corpus holds what the scan must get right, not only the easy shapes', () => {
    const events = corpus.map((payload) => expected(payload, 'chat', false));
    expect(events.filter((event) => event.usage).length).toBeGreaterThanOrEqual(5);
    expect(events.filter((event) => event.dropped).length).toBeGreaterThanOrEqual(3);
    expect(events.filter((event) => event.finish).length).toBeGreaterThanOrEqual(8);
    expect(events.filter((event) => event.toolCalls).length).toBeGreaterThanOrEqual(2);
  });
});

describe('StreamAccount refuses what is not an event', () => {
  test.each([
    ['not JSON at all', 'hello'],
    ['an object cut short', '{"choices":[{"delta":{"content":"unterminated}]}'],
    ['a bad escape', '{"choices":[{"delta":{"content":"\\x"}}]}'],
    ['a list', '[1,2]'],
  ])('%s', (_name, payload) => {
    expect(() => account().take(payload, true)).toThrow(AttemptFailure);
  });

  test('an error event fails the try, with the message and never the key', () => {
    const keyed = new UpstreamProvider(providerConfigSchema.parse({ id: 'up', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnv: 'KEY' }), { KEY: 'sk-secret' });
    const reader = new StreamAccount(new Replica('m', 'm', keyed, replica.breaker), { kind: 'chat', clientWantsUsage: true, estimatePromptTokens: () => 1 });
    expect(() => reader.take('{"error":{"message":"bad key sk-secret"}}', false)).toThrow(/reported an error: bad key \[redacted\]/);
  });
});

describe('StreamAccount: the usage chunk it makes up repeats the stream identity', () => {
  test('id, object, created and model come from the first event; usage is the estimate', () => {
    const reader = account();
    reader.take('{"id":"chatcmpl-1","object":"chat.completion.chunk","created":5,"model":"m1","choices":[{"index":0,"delta":{"role":"assistant"}}]}', true);
    reader.take('{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"a"}}]}', true);
    reader.take('{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"b"}}]}', false);
    expect(JSON.parse(reader.usageChunk())).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 5,
      model: 'm1',
      choices: [],
      usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9, estimated: true },
    });
  });
});
