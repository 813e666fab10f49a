/**
 * The templates' structured parts on the real engine (issue 23, item 4), through `/v1/responses`
 * and the official client: the tutor's quiz and grading formats come back as objects of their
 * schemas (json_schema by grammar), and each of the game character's tools, forced, comes back
 * as a function call whose arguments hold its schema, called directly and through apps made from
 * the templates (the app's format and tools reach the grammar). stories260K has no judgement, so
 * only grammar-constrained paths are used; which tool to choose is tested with a scripted engine.
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadTemplate } from '../src/cli/app-templates.js';
import { gameTools } from '../src/templates/game-character.js';
import { tutorFormats } from '../src/templates/tutor-quiz.js';
import { callJson } from './support/json-api.js';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();

describe.skipIf(skip)('template formats on stories260K', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.stop());

  test.each(['quiz', 'grading'] as const)('the tutor %s format returns an object of its schema', async (mode) => {
    const format = tutorFormats[mode];
    const response = await server.client.responses.create({
      model: 'stories',
      input: mode === 'quiz' ? 'Quiz me on averages.' : 'Grade: 1) the median 2) 4',
      text: { format: { ...format, schema: { ...format.schema } } },
      // Deterministic: at temperature 0.8 a quiz of five long questions can run past the output cap.
      max_output_tokens: 480,
      temperature: 0,
    });
    expect(response.status, JSON.stringify(response.incomplete_details)).toBe('completed');
    const value: unknown = JSON.parse(response.output_text);
    const ajv = new Ajv();
    expect(ajv.validate(format.schema, value), ajv.errorsText()).toBe(true);
  });

  test.each(gameTools.map((tool) => tool.name))('the game tool %s, forced, returns arguments of its schema', async (name) => {
    const response = await server.client.responses.create({
      model: 'stories',
      input: 'A traveller walks into the shop.',
      tools: gameTools.map((tool) => ({ ...tool, parameters: { ...tool.parameters } })),
      tool_choice: { type: 'function', name },
      // Greedy: sampled, a long string argument can run past the cap and leave no call (a flake seen in CI).
      temperature: 0,
      max_output_tokens: 200,
    });
    const call = response.output.find((item) => item.type === 'function_call');
    expect(call?.type === 'function_call' && call.name).toBe(name);
    const tool = gameTools.find((candidate) => candidate.name === name)!;
    const ajv = new Ajv();
    expect(ajv.validate(tool.parameters, JSON.parse(call?.type === 'function_call' ? call.arguments : 'null')), ajv.errorsText()).toBe(true);
  });

  test('through apps made from the templates: the quiz variant answers its schema, the game app its forced tool', async () => {
    const quiz = loadTemplate('tutor').variants.find((variant) => variant.suffix === 'quiz')!.config;
    const game = loadTemplate('game-character').config;
    // Short instructions: stories260K has 512 tokens of context, and the knowledge (a file_search tool) is left out.
    const apps = [
      { name: 'quiz', model: 'stories', instructions: 'Quiz.', text: quiz.text, temperature: 0, max_output_tokens: 480 },
      { name: 'bram', model: 'stories', instructions: 'You are Bram.', tools: game.tools, max_output_tokens: 200 },
    ];
    for (const app of apps) expect((await callJson(server.url, 'POST', '/v1/apps', app)).status).toBe(201);
    const answer = await server.client.responses.create({ model: 'app:quiz', input: 'Quiz me.' });
    expect(answer.status, JSON.stringify(answer.incomplete_details)).toBe('completed');
    const ajv = new Ajv();
    expect(ajv.validate(tutorFormats.quiz.schema, JSON.parse(answer.output_text)), ajv.errorsText()).toBe(true);
    const line = await server.client.responses.create({ model: 'app:bram', input: 'Hello.', tool_choice: { type: 'function', name: 'move' } });
    const call = line.output.find((item) => item.type === 'function_call');
    expect(call?.type === 'function_call' && call.name).toBe('move');
    expect(ajv.validate(gameTools[1].parameters, JSON.parse(call?.type === 'function_call' ? call.arguments : 'null')), ajv.errorsText()).toBe(true);
  });
});
