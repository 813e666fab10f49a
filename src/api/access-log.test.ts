import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { AccessLog } from './access-log.js';

const folder = mkdtempSync(join(tmpdir(), 'nimbus-access-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** The file's text; empty until the writer has created it (it opens the file asynchronously). */
function text(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

function lines(path: string): Array<Record<string, unknown>> {
  return text(path)
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

test("lines are pino's JSON shape, fields in order, undefined fields left out; close writes what is buffered", async () => {
  const path = join(folder, 'shape.log');
  const log = new AccessLog('info', { dest: path, flushMs: 60_000 });
  log.info({ reqId: 'req-1', requestId: 'chatcmpl-1', keyId: null, promptTokens: 9, completionTokens: undefined }, 'chat ok');
  log.info({}, 'empty');
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(text(path)).toBe(''); // still buffered: no timer fired, under 8 KB
  log.close();
  await expect.poll(() => lines(path).length, { timeout: 2_000 }).toBe(2);
  const [first, second] = lines(path);
  expect(Object.keys(first!)).toEqual(['level', 'time', 'pid', 'hostname', 'reqId', 'requestId', 'keyId', 'promptTokens', 'msg']);
  expect(first).toMatchObject({ level: 30, pid: process.pid, reqId: 'req-1', keyId: null, promptTokens: 9, msg: 'chat ok' });
  expect(Math.abs((first!.time as number) - Date.now())).toBeLessThan(5_000);
  expect(second).toMatchObject({ level: 30, msg: 'empty' });
});

test('a full batch and the timer each write without waiting for close', async () => {
  const path = join(folder, 'batch.log');
  const log = new AccessLog('debug', { dest: path, flushMs: 20 });
  log.info({ n: 1 }, 'timed');
  await expect.poll(() => lines(path).length, { timeout: 2_000 }).toBe(1);
  for (let index = 0; index < 200; index += 1) log.info({ n: index, pad: 'x'.repeat(60) }, 'bulk');
  await expect.poll(() => lines(path).length, { timeout: 2_000 }).toBe(201);
  log.close();
});

test('above info (warn, silent), nothing is written', async () => {
  for (const level of ['warn', 'silent']) {
    const path = join(folder, `${level}.log`);
    const log = new AccessLog(level, { dest: path });
    log.info({ n: 1 }, 'skipped');
    log.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(text(path)).toBe('');
  }
});
