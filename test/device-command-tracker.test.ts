/** The command tracker on a real (in-memory SQLite) store: who may answer, deadlines, recovery. */
import { afterEach, expect, test } from 'vitest';
import type { CommandRecord } from '../src/core/device-store.js';
import type { Store } from '../src/core/store.js';
import { CommandTracker } from '../src/devices/command-tracker.js';
import { commandRecord } from '../src/store/device-store-contract.js';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite-store.js';

let store: Store | undefined;
afterEach(async () => store?.close());

async function tracker(now = () => Date.now()) {
  store = await openSqliteStore(':memory:');
  const settled: Array<[CommandRecord, string]> = [];
  const commands = new CommandTracker(store.devices, { now }, async (command, by) => void settled.push([command, by]));
  return { commands, settled, store };
}

test('only the device a command was sent to may answer it, and only once', async () => {
  const { commands, settled, store } = await tracker();
  const command = commandRecord({ id: 'cmd_1', deadline: Date.now() + 60_000 });
  await commands.begin(command);
  const waiting = commands.wait('cmd_1');
  expect(await commands.answer('cmd_1', { tenantId: 't1', deviceId: 'other' }, 'acked', null, null)).toBe(false);
  expect(await commands.answer('cmd_1', { tenantId: 't2', deviceId: 'lamp-1' }, 'acked', null, null)).toBe(false);
  expect(await commands.answer('cmd_1', { tenantId: 't1', deviceId: 'lamp-1' }, 'acked', { ok: 1 }, null)).toBe(true);
  expect(await commands.answer('cmd_1', { tenantId: 't1', deviceId: 'lamp-1' }, 'failed', null, 'late')).toBe(false);
  expect(await waiting).toMatchObject({ state: 'acked', output: { ok: 1 } });
  expect(settled.map(([settledCommand, by]) => [settledCommand.state, by])).toEqual([['acked', 'device:lamp-1']]);
  expect(await store.devices.getCommand('t1', 'cmd_1')).toMatchObject({ state: 'acked' });
  commands.close();
});

test('the deadline times a command out; a send failure fails it', async () => {
  const { commands, settled } = await tracker();
  await commands.begin(commandRecord({ id: 'cmd_slow', deadline: Date.now() + 30 }));
  await commands.begin(commandRecord({ id: 'cmd_unsent', deadline: Date.now() + 60_000 }));
  const slow = commands.wait('cmd_slow');
  await commands.fail('cmd_unsent', 'could not send: broker away');
  expect(await slow).toMatchObject({ state: 'timed_out' });
  expect(settled.map(([command, by]) => [command.id, command.state, by])).toEqual([
    ['cmd_unsent', 'failed', 'system'],
    ['cmd_slow', 'timed_out', 'system'],
  ]);
  commands.close();
});

test('recover times out what passed its deadline and re-arms the rest', async () => {
  const { commands, settled } = await tracker();
  await commands.recover([
    commandRecord({ id: 'cmd_past', deadline: Date.now() - 1 }),
    commandRecord({ id: 'cmd_future', deadline: Date.now() + 60_000 }),
    commandRecord({ id: 'cmd_done', state: 'acked' }),
  ]);
  expect(settled.map(([command]) => [command.id, command.state, command.error])).toEqual([
    ['cmd_past', 'timed_out', 'the deadline passed while Nimbus was down'],
  ]);
  expect(commands.pending('cmd_future')).toMatchObject({ state: 'pending' });
  expect(commands.pending('cmd_done')).toBeUndefined();
  commands.close();
});
