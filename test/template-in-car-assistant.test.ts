/**
 * The in-car assistant template end to end (issue 23): `nimbus sim --vehicle` as a process and
 * the template created against a `nimbus serve` process, then the car's app as the official
 * `openai` client with a key of its own. The script decides the tools;
 * the real gateway, policy, car and confirm control run them: a comfort function runs at once,
 * a window while driving waits for the car's confirm control (an approver key, not the
 * assistant's), whose grant the head unit presents on its next call, and the manual answers with
 * the section it came from.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually } from './support/devices.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { startTemplateRig, type TemplateRig } from './support/template-rig.js';
import { startVehicleSim, type VehicleSim } from './support/vehicle-sim.js';

let rig: TemplateRig;
let car: VehicleSim;
let assistantKey: string;
let assistant: OpenAI;

type Chat = { choices: Array<{ message: { content: string } }>; nimbus: { actions: Array<Record<string, unknown>>; citations?: Array<{ filename: string }> } };

beforeAll(async () => {
  rig = await startTemplateRig();
  car = await startVehicleSim(rig.server.url, rig.operator);
  const created = await rig.createFromTemplate('in-car-assistant');
  expect(created.apps.map((app) => app.name)).toEqual(['in-car-assistant']);
  assistantKey = await rig.server.key(rig.operator, 'car-head-unit', { inference: true, devices: [car.carId] });
  assistant = new OpenAI({ baseURL: `${rig.server.url}/v1`, apiKey: assistantKey, maxRetries: 0 });
}, 90_000);
afterAll(async () => {
  await car?.stop();
  await rig?.stop();
  killNimbusProcesses();
});

const ask = async (content: string): Promise<Chat> =>
  (await assistant.chat.completions.create({ model: 'app:in-car-assistant', messages: [{ role: 'user', content }] })) as unknown as Chat;

test('comfort functions run; the tools never include driving', async () => {
  rig.upstream.play([{ calls: [{ name: `${car.carId}__do_set_climate`, arguments: { target_celsius: 22, fan: 3 } }] }, { text: 'Set to 22 degrees.' }]);
  const answer = await ask('I am cold');
  expect(answer.choices[0]!.message.content).toBe('Set to 22 degrees.');
  expect(answer.nimbus.actions).toEqual([
    expect.objectContaining({ device: car.carId, name: 'set_climate', status: 'acked', output: { target_celsius: 22, fan: 3 } }),
  ]);
  const offered = (rig.upstream.requests[0].tools as Array<{ function: { name: string } }>).map((tool) => tool.function.name);
  expect(offered).toEqual(expect.arrayContaining([`${car.carId}__do_set_window`, `${car.carId}__get`, 'file_search']));
  expect(offered.filter((name) => /speed|gear|brake|steer|accel/.test(name))).toEqual([]);
});

test('a window while driving waits for the car confirm control; the head unit then presents the grant', async () => {
  car.type('drive 90');
  await eventually(async () => expect((await rig.server.api(rig.operator, 'GET', `/v1/devices/${car.carId}/twin`)).body.reported.driving).toBe(true));
  rig.upstream.play([
    { calls: [{ name: `${car.carId}__do_set_window`, arguments: { window: 'front_left', open_percent: 25 } }] },
    { text: 'Please confirm on the car screen.' },
  ]);
  const answer = await ask('Open my window a bit');
  const action = answer.nimbus.actions[0]!;
  expect(action).toMatchObject({ name: 'set_window', status: 'approval_required', risk: 'high' });
  const approval = action.approval as string;
  expect((await rig.server.api(assistantKey, 'POST', `/v1/approvals/${approval}/grant`)).status).toBe(403);
  await car.waitFor(new RegExp(`screen: confirm set_window .*${approval}`));
  car.type(`confirm ${approval}`);
  await car.waitFor(new RegExp(`confirmed ${approval}`));
  // The head unit presents the grant on its next call of the app; the same command (same key) runs.
  rig.upstream.play([
    { calls: [{ name: `${car.carId}__do_set_window`, arguments: { window: 'front_left', open_percent: 25 } }] },
    { text: 'Window opened a bit.' },
  ]);
  const done = (await assistant.chat.completions.create({
    model: 'app:in-car-assistant',
    messages: [{ role: 'user', content: 'Confirmed on the screen.' }],
    nimbus: { approvals: [approval] },
  } as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)) as unknown as Chat;
  expect(done.nimbus.actions[0]).toMatchObject({ status: 'acked', approval, state_after: { windows: { front_left: 25 }, driving: true } });
  car.type('park');
});

test("the owner's manual answers, citing its section", async () => {
  rig.upstream.play([{ calls: [{ name: 'file_search', arguments: { queries: ['seat heating levels'] } }] }, { text: 'Levels 0 to 3 [03-seats.md].' }]);
  const answer = await ask('How hot can my seat get?');
  expect(answer.choices[0]!.message.content).toBe('Levels 0 to 3 [03-seats.md].');
  expect(answer.nimbus.citations?.map((citation) => citation.filename)).toContain('03-seats.md');
  expect(JSON.stringify(rig.upstream.requests[1].messages)).toContain('four levels: 0 (off), 1');
});
