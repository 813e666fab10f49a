import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { ControlPlaneLockTaken, lockControlPlane } from './control-plane-lock.js';

const folder = mkdtempSync(join(tmpdir(), 'nimbus-lock-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

test('the lock of a home that does not exist yet is taken (nimbus serve --home NEW makes it), and a second is refused', () => {
  const database = join(folder, 'new-home', 'nimbus.db');
  const lock = lockControlPlane(database);
  expect(existsSync(lock.path)).toBe(true);
  expect(() => lockControlPlane(database)).toThrow(ControlPlaneLockTaken);
  lock.release();
  lockControlPlane(database).release();
});
