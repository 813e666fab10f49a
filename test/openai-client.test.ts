/**
 * The official `openai` client against a real server running the real llama.cpp engine on
 * stories260K: the known answer, chat, streaming, grammar-enforced JSON and tool calls,
 * embeddings, and exact usage.
 */
import { Ajv } from 'ajv';
import { getLlama, LlamaChat, LlamaCompletion, type Llama, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { knownAnswer, skipWithoutSharedModel, storiesPath } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();

describe.skipIf(skip)('OpenAI API over the llama engine (stories260K)', () => {
  let server: TestServer;
  let llama: Llama;
  let model: LlamaModel;

  beforeAll(async () => {
    server = await startTestServer();
    llama = await getLlama({ gpu: false, build: 'never' });
    model = await llama.loadModel({ modelPath: storiesPath! });
  });
  afterAll(async () => {
    await server?.stop();
    await model?.dispose();
    await llama?.dispose();
  });

  test('known answer: "Once upon a time" at temperature 0', async () => {
    const completion = await server.client.completions.create({ model: 'stories', prompt: 'Once upon a time', temperature: 0, max_tokens: 40 });
    expect('Once upon a time' + completion.choices[0]!.text).toMatch(new RegExp(`^${knownAnswer.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const echoed = await server.client.completions.create({ model: 'stories', prompt: 'Once upon a time', temperature: 0, max_tokens: 40, echo: true });
    expect(echoed.choices[0]!.text.startsWith(knownAnswer)).toBe(true);
  });

  test('lists models and gets one', async () => {
    const models = await server.client.models.list();
    expect(models.data.map((entry) => entry.id)).toEqual(['stories']);
    const one = await server.client.models.retrieve('stories');
    expect(one).toMatchObject({ id: 'stories', object: 'model', owned_by: 'nimbus' });
  });

  test('chat answers, and the stream joins to the same text at temperature 0 with a seed', async () => {
    // The seed is what makes it reproducible: a seeded request is evaluated from an empty cache,
    // where an unseeded one may reuse the first one's cached prompt and differ in the last bits.
    const messages = [
      { role: 'system' as const, content: 'You tell short stories.' },
      { role: 'user' as const, content: [{ type: 'text' as const, text: 'Tell me about a cat.' }] },
    ];
    const whole = await server.client.chat.completions.create({ model: 'stories', messages, temperature: 0, seed: 1, max_tokens: 48 });
    const text = whole.choices[0]!.message.content!;
    expect(text.length).toBeGreaterThan(10);
    expect(whole.choices[0]!.finish_reason).toBe('length');
    expect(whole.usage!.completion_tokens).toBe(48);

    const stream = await server.client.chat.completions.create({
      model: 'stories',
      messages,
      temperature: 0,
      seed: 1,
      max_tokens: 48,
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed = '';
    let finish: string | null = null;
    let usage: unknown;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (choice?.delta.content) streamed += choice.delta.content;
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    expect(chunks).toBeGreaterThan(5);
    expect(streamed).toBe(text);
    expect(finish).toBe('length');
    expect(usage).toMatchObject({
      prompt_tokens: whole.usage!.prompt_tokens,
      completion_tokens: 48,
      total_tokens: whole.usage!.prompt_tokens + 48,
      prompt_tokens_details: { cached_tokens: 0 },
    });
  });

  test('the same seed gives the same output at temperature 1', async () => {
    const ask = () => server.client.completions.create({ model: 'stories', prompt: 'The dog', temperature: 1, seed: 42, max_tokens: 24 });
    const [first, second] = [await ask(), await ask()];
    expect(first.choices[0]!.text).toBe(second.choices[0]!.text);
  });

  test('stop strings end the text before the stop', async () => {
    const completion = await server.client.completions.create({ model: 'stories', prompt: 'Once upon a time', temperature: 0, max_tokens: 60, stop: ['Lily'] });
    // Stops are matched on tokens: the space before "Lily" belongs to its token and goes with it.
    expect(completion.choices[0]!.text).toMatch(/^, there was a little girl named ?$/);
    expect(completion.choices[0]!.finish_reason).toBe('stop');
  });

  test('json_schema output always parses and validates', async () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 24 },
        age: { type: 'integer', minimum: 1, maximum: 99 },
        pets: { type: 'array', items: { type: 'string', enum: ['cat', 'dog'] }, maxItems: 3 },
      },
      required: ['name', 'age', 'pets'],
      additionalProperties: false,
    };
    const validate = new Ajv().compile(schema);
    for (const temperature of [0, 1]) {
      const completion = await server.client.chat.completions.create({
        model: 'stories',
        messages: [{ role: 'user', content: 'Describe a person as JSON.' }],
        temperature,
        seed: 7,
        max_tokens: 120,
        response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
      });
      const value = JSON.parse(completion.choices[0]!.message.content!);
      expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
    }
    // json_object allows any object, and a story model never stops writing one: it must at least be JSON
    // from its first byte, cut only by max_tokens (OpenAI documents the same for finish_reason 'length').
    const loose = await server.client.chat.completions.create({
      model: 'stories',
      messages: [{ role: 'user', content: 'JSON please' }],
      temperature: 0,
      max_tokens: 40,
      response_format: { type: 'json_object' },
    });
    expect(loose.choices[0]!.message.content!.trimStart().startsWith('{')).toBe(true);
    expect(loose.choices[0]!.finish_reason).toBe('length');
  });

  const lampTool = {
    type: 'function' as const,
    function: {
      name: 'set_lamp',
      description: 'Switch a lamp',
      parameters: {
        type: 'object',
        properties: { room: { type: 'string', enum: ['kitchen', 'hall'] }, on: { type: 'boolean' }, level: { type: 'integer', minimum: 0, maximum: 10 } },
        required: ['room', 'on', 'level'],
      },
    },
  };
  const lockTool = {
    type: 'function' as const,
    function: { name: 'lock_door', parameters: { type: 'object', properties: { door: { type: 'string', maxLength: 12 } }, required: ['door'] } },
  };

  test.each([
    ['required', 'required' as const],
    ['a named function', { type: 'function' as const, function: { name: 'lock_door' } }],
  ])('tool_choice %s produces tool_calls whose arguments validate', async (_label, toolChoice) => {
    const completion = await server.client.chat.completions.create({
      model: 'stories',
      messages: [{ role: 'user', content: 'Turn on the kitchen lamp.' }],
      temperature: 0,
      max_tokens: 100,
      tools: [lampTool, lockTool],
      tool_choice: toolChoice,
    });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    if (call.type !== 'function') return;
    expect(call.id).toMatch(/^call_/);
    const tool = [lampTool, lockTool].find((candidate) => candidate.function.name === call.function.name)!;
    if (typeof toolChoice === 'object') expect(call.function.name).toBe('lock_door');
    const validate = new Ajv().compile(tool.function.parameters);
    expect(validate(JSON.parse(call.function.arguments)), call.function.arguments).toBe(true);
  });

  test.each([false, true])('a forced tool call cut off by max_tokens ends with length and no half call (stream %s)', async (stream) => {
    const request = {
      model: 'stories',
      messages: [{ role: 'user' as const, content: 'Turn on the kitchen lamp.' }],
      temperature: 0,
      max_tokens: 3,
      tools: [lampTool],
      tool_choice: 'required' as const,
    };
    if (!stream) {
      const completion = await server.client.chat.completions.create(request);
      expect(completion.choices[0]!.finish_reason).toBe('length');
      expect(completion.choices[0]!.message.tool_calls ?? []).toEqual([]);
      expect(completion.usage!.completion_tokens).toBe(3);
      return;
    }
    let finish: string | null = null;
    let toolDeltas = 0;
    for await (const chunk of await server.client.chat.completions.create({ ...request, stream: true })) {
      toolDeltas += chunk.choices[0]?.delta.tool_calls?.length ?? 0;
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('length');
    expect(toolDeltas).toBe(0);
  });

  test('a streamed tool call arrives as tool_calls deltas with finish_reason tool_calls', async () => {
    const stream = await server.client.chat.completions.create({
      model: 'stories',
      messages: [{ role: 'user', content: 'Lamp!' }],
      temperature: 0,
      max_tokens: 100,
      tools: [lampTool],
      tool_choice: 'required',
      stream: true,
    });
    let args = '';
    let name = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += delta.function?.name ?? '';
        args += delta.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('set_lamp');
    expect(new Ajv().compile(lampTool.function.parameters)(JSON.parse(args))).toBe(true);
    expect(finish).toBe('tool_calls');
  });

  test('a conversation with tool results is accepted and answered', async () => {
    const completion = await server.client.chat.completions.create({
      model: 'stories',
      temperature: 0,
      max_tokens: 16,
      tools: [lampTool],
      tool_choice: 'none',
      messages: [
        { role: 'user', content: 'Turn on the hall lamp.' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'set_lamp', arguments: '{"room":"hall","on":true,"level":5}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"ok":true}' },
      ],
    });
    expect(completion.choices[0]!.finish_reason).toBe('length');
    expect(completion.choices[0]!.message.content!.length).toBeGreaterThan(0);
  });

  test('embeddings have the model dimension, for one input and a list', async () => {
    const one = await server.client.embeddings.create({ model: 'stories', input: 'a little cat' });
    expect(one.data).toHaveLength(1);
    expect(one.data[0]!.embedding).toHaveLength(model.embeddingVectorSize);
    const many = await server.client.embeddings.create({ model: 'stories', input: ['a dog', 'a big red ball'], encoding_format: 'float' });
    expect(many.data.map((entry) => entry.index)).toEqual([0, 1]);
    expect(many.usage.prompt_tokens).toBe(model.tokenize('a dog').length + model.tokenize('a big red ball').length);
    // The client asks for base64 by default and decodes it: the vectors must survive that.
    const decoded = await server.client.embeddings.create({ model: 'stories', input: 'a dog' });
    expect(decoded.data[0]!.embedding[0]).toBeCloseTo(many.data[0]!.embedding[0]!, 5);
  });

  test('usage equals what the tokenizer and the engine count', async () => {
    const prompt = 'The little bird sang a song';
    // Text completion: node-llama-cpp's own LlamaCompletion on a fresh context says which tokens it
    // evaluates for the prompt (it prepends BOS and drops the tokenizer's leading space).
    const textContext = await model.createContext({ contextSize: 512, threads: 1 });
    const textSequence = textContext.getSequence();
    await new LlamaCompletion({ contextSequence: textSequence }).generateCompletion(prompt, { maxTokens: 1 });
    const textEvaluated = textSequence.contextTokens.length;
    await textContext.dispose();
    const completion = await server.client.completions.create({ model: 'stories', prompt, temperature: 0, max_tokens: 20 });
    expect(completion.usage!.prompt_tokens).toBe(textEvaluated);
    expect(completion.usage!.completion_tokens).toBe(20);

    // Chat: ask node-llama-cpp itself, on a fresh context, which prompt tokens it puts in the context
    // for the same history (after generating one token, the sequence holds exactly the prompt).
    const context = await model.createContext({ contextSize: 512, threads: 1 });
    const sequence = context.getSequence();
    const chat = new LlamaChat({ contextSequence: sequence });
    await chat.generateResponse(
      [
        { type: 'system', text: 'Be brief.' },
        { type: 'user', text: 'Hello there' },
        { type: 'model', response: [] },
      ],
      { maxTokens: 1 },
    );
    const evaluated = sequence.contextTokens.length;
    await context.dispose();
    const answer = await server.client.chat.completions.create({
      model: 'stories',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello there' },
      ],
      temperature: 0,
      max_tokens: 5,
    });
    expect(answer.usage!.prompt_tokens).toBe(evaluated);
    expect(answer.usage!.completion_tokens).toBe(5);
    expect(answer.usage!.total_tokens).toBe(evaluated + 5);
  });

  test('a prompt sharing a prefix with an earlier one reuses its slot cache (cached_tokens)', async () => {
    const system = 'You are a storyteller. '.repeat(12);
    const ask = (question: string) =>
      server.client.chat.completions.create({
        model: 'stories',
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: question },
        ],
        temperature: 0,
        max_tokens: 4,
      });
    // Other slots hold unrelated prompts, so only prefix-aware slot choice finds the shared one.
    await Promise.all([1, 2, 3].map((index) => server.client.completions.create({ model: 'stories', prompt: `Unrelated ${index}`, max_tokens: 2 })));
    const first = await ask('Tell me about a fox.');
    await Promise.all([1, 2, 3].map((index) => server.client.completions.create({ model: 'stories', prompt: `Other ${index}`, max_tokens: 2 })));
    const second = await ask('Tell me about a bear.');
    const systemTokens = model.tokenize(system).length;
    expect(first.usage!.prompt_tokens).toBeGreaterThan(systemTokens);
    expect(second.usage!.prompt_tokens_details!.cached_tokens).toBeGreaterThanOrEqual(systemTokens);
    expect(second.usage!.prompt_tokens_details!.cached_tokens).toBeLessThan(second.usage!.prompt_tokens);
  });

  test('a text completion extending an earlier prompt evaluates only the new tokens', async () => {
    const opening = 'Once upon a time there was a little girl named Lily who loved to play in the park with her dog.';
    const first = await server.client.completions.create({ model: 'stories', prompt: opening, max_tokens: 2 });
    const second = await server.client.completions.create({ model: 'stories', prompt: `${opening} One day`, max_tokens: 2 });
    // Everything the first request evaluated from its prompt is reused (and its first generated
    // token too, when the new prompt happens to continue with it).
    expect(second.usage!.prompt_tokens_details!.cached_tokens).toBeGreaterThanOrEqual(first.usage!.prompt_tokens);
    expect(second.usage!.prompt_tokens_details!.cached_tokens).toBeLessThan(second.usage!.prompt_tokens);
    expect(second.usage!.prompt_tokens).toBeGreaterThan(first.usage!.prompt_tokens);
  });

  test('a prefix whose slot was overwritten comes back from the prompt cache in RAM', async () => {
    const loaded = server.nimbus.engine.loadedModel('stories')!;
    const cache = loaded.promptCache!;
    const restoredBefore = cache.stats.restored;
    const opening = 'The old lighthouse keeper climbed the stairs every night to light the lamp for the ships. '.repeat(3).trimEnd();
    const first = await server.client.completions.create({ model: 'stories', prompt: opening, max_tokens: 2 });
    // More unrelated prompts than there are slots, each long enough to be worth saving: every slot is overwritten.
    for (let index = 0; index < loaded.options.slots + 2; index += 1) {
      await server.client.completions.create({
        model: 'stories',
        prompt: `Story ${index}: ${'a dog ran in the sun and played with a ball. '.repeat(4)}`,
        max_tokens: 2,
      });
    }
    const again = await server.client.completions.create({ model: 'stories', prompt: `${opening} Then`, max_tokens: 2 });
    expect(cache.stats.restored).toBe(restoredBefore + 1);
    expect(again.usage!.prompt_tokens_details!.cached_tokens).toBeGreaterThanOrEqual(first.usage!.prompt_tokens);
    // With the cache off, the same sequence of requests reuses nothing of the opening.
    const plain = await startTestServer({ promptCacheMiB: 0 });
    try {
      await plain.client.completions.create({ model: 'stories', prompt: opening, max_tokens: 2 });
      for (let index = 0; index < loaded.options.slots + 2; index += 1) {
        await plain.client.completions.create({
          model: 'stories',
          prompt: `Story ${index}: ${'a dog ran in the sun and played with a ball. '.repeat(4)}`,
          max_tokens: 2,
        });
      }
      const cold = await plain.client.completions.create({ model: 'stories', prompt: `${opening} Then`, max_tokens: 2 });
      expect(cold.usage!.prompt_tokens_details!.cached_tokens).toBeLessThan(first.usage!.prompt_tokens / 2);
    } finally {
      await plain.stop();
    }
  });

  test('/metrics, /healthz, /readyz and the request log tell what happened', async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { status: string; models: Array<{ id: string; state: string }> };
    expect(ready).toMatchObject({ status: 'ready', checks: { store: 'ok' }, models_ready: true, models: [{ id: 'stories', state: 'ready' }] });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/nimbus_requests_total\{route="chat",model="stories",status="200"\} \d+/);
    expect(metrics).toMatch(/nimbus_completion_tokens_total\{model="stories"\} \d+/);
    expect(metrics).toContain('nimbus_time_to_first_token_seconds_bucket');
    expect(metrics).toContain('nimbus_inter_token_latency_seconds_bucket');
    expect(metrics).toMatch(/nimbus_queue_depth\{engine="llama"\} 0/);
    expect(metrics).toMatch(/nimbus_models\{model="stories",engine="llama",state="ready"\} 1/);
    await server.nimbus.store.flush();
    const rows = await server.nimbus.store.listRequests({ model: 'stories', limit: 500 });
    const streamed = rows.find((row) => row.stream && row.kind === 'chat' && row.status === 'ok');
    expect(streamed).toMatchObject({ httpStatus: 200, finishReason: expect.any(String) });
    expect(streamed!.ttftMs).toBeGreaterThan(0);
    expect(streamed!.durationMs).toBeGreaterThanOrEqual(streamed!.ttftMs!);
    expect(streamed!.promptTokens).toBeGreaterThan(0);
  });
});
