import { describe, expect, test } from 'vitest';
import type { GenerationEvent } from '../../core/engine.js';
import type { ChatCompletionRequest } from '../../core/openai/request-schemas.js';
import { continueChat, continueText, resumableGeneration, type Turn } from './resumable-generation.js';

type TextRequest = { model: string; prompt: string; max_tokens?: number | null };

async function collect(events: AsyncIterable<GenerationEvent>): Promise<GenerationEvent[]> {
  const all: GenerationEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

/** A segment that says `words` one token each, yielding after `yieldAfter` of them on the first `yields` turns. */
function scripted(words: string[], yields: number[]) {
  const turns: Array<{ request: TextRequest; turn: Turn }> = [];
  const segment = async function* (request: TextRequest, turn: Turn): AsyncGenerator<GenerationEvent> {
    turns.push({ request, turn: { ...turn } });
    const already = request.prompt.length - 'P:'.length;
    const said = words.join('').slice(0, already);
    const rest = words.slice(words.findIndex((_, index) => words.slice(0, index).join('').length >= said.length));
    const stopAt = yields[turns.length - 1];
    let count = 0;
    for (const word of rest) {
      if (stopAt !== undefined && count === stopAt) {
        turn.yielded = true;
        break;
      }
      if (request.max_tokens != null && count === request.max_tokens) break;
      yield { type: 'delta', content: word };
      count += 1;
    }
    const reason = turn.yielded ? 'stop' : request.max_tokens != null && count === request.max_tokens ? 'length' : 'stop';
    yield {
      type: 'done',
      finishReason: reason,
      usage: { prompt_tokens: 10 + turns.length, completion_tokens: count, total_tokens: 10 + turns.length + count },
      compute: { deviceClass: 'cpu', seconds: 1 },
    };
  };
  return { turns, segment };
}

describe('resumableGeneration', () => {
  test('a segment that never yields is passed through with its own done', async () => {
    const { turns, segment } = scripted(['a', 'b'], []);
    const events = await collect(resumableGeneration({ model: 'm', prompt: 'P:' }, segment, (first, text, used) => continueText(first, text, used, 50)));
    expect(events.map((event) => (event.type === 'delta' ? event.content : event.finishReason))).toEqual(['a', 'b', 'stop']);
    expect(turns).toHaveLength(1);
    expect(turns[0]!.turn).toMatchObject({ priority: 'batch', yieldable: true, resumed: false });
  });

  test('yielded segments continue from the text so far; the answer is one, with the first prompt and every output token', async () => {
    const { turns, segment } = scripted(['a', 'b', 'c', 'd', 'e'], [2, 1]);
    const events = await collect(
      resumableGeneration({ model: 'm', prompt: 'P:', max_tokens: 10 }, segment, (first, text, used) => continueText(first, text, used, undefined)),
    );
    const text = events.flatMap((event) => (event.type === 'delta' ? [event.content] : [])).join('');
    expect(text).toBe('abcde');
    expect(turns.map(({ request, turn }) => [request.prompt, request.max_tokens, turn.resumed])).toEqual([
      ['P:', 10, false],
      ['P:ab', 8, true],
      ['P:abc', 7, true],
    ]);
    expect(events.at(-1)).toMatchObject({
      type: 'done',
      finishReason: 'stop',
      usage: { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 },
      compute: { seconds: 3 },
    });
  });

  test('a yield that leaves no budget ends the answer at its length', async () => {
    const { turns, segment } = scripted(['a', 'b', 'c'], [2]);
    const events = await collect(
      resumableGeneration({ model: 'm', prompt: 'P:', max_tokens: 2 }, segment, (first, text, used) => continueText(first, text, used, undefined)),
    );
    expect(turns).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ finishReason: 'length', usage: { completion_tokens: 2 } });
  });

  test('a segment that ends without done (its consumer failed) ends the answer', async () => {
    const segment = async function* (): AsyncGenerator<GenerationEvent> {
      yield { type: 'delta', content: 'x' };
      throw new Error('engine failed');
    };
    await expect(collect(resumableGeneration({ model: 'm', prompt: '' }, segment, () => undefined))).rejects.toThrow('engine failed');
  });
});

describe('continuations', () => {
  const chat = (extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra });

  test('a chat goes on from its partial answer as the open assistant message, with the tokens left', () => {
    expect(continueChat(chat({ max_tokens: 10 }), 'Once', 3, undefined)).toMatchObject({
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'Once' },
      ],
      max_tokens: 7,
    });
    expect(continueChat(chat({ max_completion_tokens: 5 }), 'x', 2, 100)).toMatchObject({ max_completion_tokens: 3 });
    expect(continueChat(chat(), 'x', 2, 8)).toMatchObject({ max_tokens: 6 });
    expect(continueChat(chat(), 'x', 2, undefined)).not.toHaveProperty('max_tokens');
    expect(continueChat(chat({ max_tokens: 4 }), 'x', 4, undefined)).toBeUndefined();
  });

  test('a completion goes on with its prompt grown by the text; its default budget is 16', () => {
    expect(continueText({ model: 'm', prompt: 'Once' }, ' upon', 2, undefined)).toMatchObject({ prompt: 'Once upon', max_tokens: 14 });
    expect(continueText({ model: 'm', prompt: 'a', max_tokens: 3 }, 'b', 3, undefined)).toBeUndefined();
  });
});
