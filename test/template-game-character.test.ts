/**
 * The game character template end to end (issue 23): the template created against a `nimbus
 * serve` process, then the game as the official `openai` client: it reads the app's function
 * tools from `GET /v1/apps/NAME`, calls `model: "app:game-character"` as a player, gets Bram's `say` and `give_item` as function calls it executes itself, sends their
 * outputs back, and the player's memory keeps the exchange.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { gamePersona, gameTools } from '../src/templates/game-character.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { startTemplateRig, type TemplateRig } from './support/template-rig.js';

let rig: TemplateRig;

beforeAll(async () => {
  rig = await startTemplateRig();
}, 60_000);
afterAll(async () => {
  await rig?.stop();
  killNimbusProcesses();
});

test('the template creates the app; the game reads its tools, executes its calls, and the player is remembered', async () => {
  const created = await rig.createFromTemplate('game-character');
  expect(created.apps.map((app) => [app.name, app.model, app.live_version])).toEqual([['game-character', 'app:game-character', 1]]);
  expect(created.vectorStoreId).toBeNull();
  const app = (await rig.server.api(rig.operator, 'GET', '/v1/apps/game-character')).body;
  expect(app.tools).toEqual(gameTools);

  rig.upstream.play([
    {
      calls: [
        { name: 'say', arguments: { text: 'Ahoy. Looking for rope?', mood: 'grumpy' } },
        { name: 'give_item', arguments: { item: 'fish_pie', quantity: 1 } },
      ],
    },
    { text: 'Mind the stairs.' },
  ]);
  const first = await rig.client.responses.create({ model: 'app:game-character', input: 'Hello! I am hungry.', user: 'player-7' });
  const calls = first.output.flatMap((item) => (item.type === 'function_call' ? [item] : []));
  expect(calls.map((call) => [call.name, JSON.parse(call.arguments)])).toEqual([
    ['say', { text: 'Ahoy. Looking for rope?', mood: 'grumpy' }],
    ['give_item', { item: 'fish_pie', quantity: 1 }],
  ]);
  // What the model was given: the persona and the three tools, as the template says.
  const sent = rig.upstream.requests[0];
  expect(sent.messages[0]).toEqual({ role: 'system', content: gamePersona });
  expect(sent.tools.map((tool: { function: { name: string } }) => tool.function.name)).toEqual(['say', 'move', 'give_item']);

  const second = await rig.client.responses.create({
    model: 'app:game-character',
    previous_response_id: first.id,
    user: 'player-7',
    input: calls.map((call) => ({ type: 'function_call_output' as const, call_id: call.call_id, output: 'done' })),
  });
  expect(second.output_text).toBe('Mind the stairs.');
  const memory = (await rig.server.api(rig.operator, 'GET', '/v1/apps/game-character/memory/player-7')).body;
  expect(memory.turns.at(-1)).toMatchObject({ assistant: 'Mind the stairs.' });
  expect((await rig.server.api(rig.operator, 'GET', '/v1/apps/game-character/memory/player-8')).body.turns).toEqual([]);
});
