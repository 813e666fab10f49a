import { expect, test } from 'vitest';
import { Cancellation } from '../core/cancellation.js';
import type { EngineCall, GenerationEvent } from '../core/engine.js';
import type { ChatCompletionRequest } from '../core/openai/request-schemas.js';
import { runToolLoop, type LoopEvent, type ToolExecutor } from './tool-loop.js';

const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
const call: EngineCall = { requestId: 'r', cancel: new Cancellation() };
const request: ChatCompletionRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

/** An engine that calls `open` and `look` in one turn, every turn. */
async function* callsBoth(): AsyncGenerator<GenerationEvent> {
  const toolCalls = ['open', 'look'].map((name, index) => ({ index, id: `c${index}`, type: 'function' as const, function: { name, arguments: '{}' } }));
  yield { type: 'delta', toolCalls };
  yield { type: 'done', finishReason: 'tool_calls', usage };
}

const tool = (name: string) => ({ type: 'function' as const, function: { name, parameters: { type: 'object' } } });

test('a call that waits on a person ends the loop after the turn: the other calls of the turn still run, no further model turn', async () => {
  const ran: string[] = [];
  const gated: ToolExecutor = {
    kind: 'gated',
    definitions: [tool('open'), tool('look')],
    run: async (toolCall) => {
      ran.push(toolCall.function.name);
      return { output: '{}', halt: toolCall.function.name === 'open' };
    },
  };
  const events: LoopEvent[] = [];
  let turns = 0;
  for await (const event of runToolLoop({ request, executors: [gated], maxSteps: 4, chat: () => (turns++, callsBoth()), call })) events.push(event);
  expect(turns).toBe(1);
  expect(ran).toEqual(['open', 'look']);
  expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'tool_calls', pending: [] });
});
