/**
 * A deployment made through one control plane, asked for through another before that one read
 * the store again (two pool runtimes on one PostgreSQL schema, no loop running by itself): `learn`
 * reads it from the store at once, so its pool engine serves (or holds) the request; a name that is
 * no deployment stays unknown. What the catalog does with it on a request's path is in
 * src/core/model-catalog.test.ts; the processes' version in test/control-plane-demand.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import { writeTinyLlamaGguf } from '../src/gguf/index.js';
import { startControlPlane } from './support/pool-control-plane.js';
import { dropSchemas, skipWithoutPostgres, uniqueName } from './support/services.js';

const time = 9_000_000;
const clock: Clock = { now: () => time, monotonic: () => time };
const schemas: string[] = [];
const folder = mkdtempSync(join(tmpdir(), 'nimbus-late-'));
const modelPath = join(folder, 'tiny.gguf');
beforeAll(() => writeTinyLlamaGguf(modelPath));
afterAll(async () => {
  rmSync(folder, { recursive: true, force: true });
  await dropSchemas(schemas);
});

test('a follower learns a deployment made through the leader from the store on a miss', async (context) => {
  if (await skipWithoutPostgres()) return context.skip();
  const schema = uniqueName('nimbus_late');
  schemas.push(schema);
  const a = await startControlPlane(schema, 'a', { clock, heartbeatMs: 1000 });
  const b = await startControlPlane(schema, 'b', { clock, heartbeatMs: 1000 });
  try {
    await a.runtime.deploy({
      name: 'fresh',
      source: modelPath,
      replicas: 0,
      device: 'cpu',
      contextSize: 256,
      slots: 1,
      routing: 'round-robin',
      autoscale: { minReplicas: 0, maxReplicas: 1, scaleFromZeroTimeoutMs: 30_000 },
    });
    // b has not read the store since: its pool engine does not know the deployment.
    expect(b.serving.replicas.has('fresh')).toBe(false);
    expect(b.runtime.holds('fresh')).toBe(false);
    expect(await b.runtime.learn('fresh')).toBe(true);
    expect(b.serving.replicas.get('fresh')).toEqual([]);
    // It autoscales, so a request through b is now held for a replica rather than refused.
    expect(b.runtime.holds('fresh')).toBe(true);
    expect(await b.runtime.learn('nope')).toBe(false);
    expect(b.serving.replicas.has('nope')).toBe(false);
  } finally {
    for (const plane of [a, b]) await plane.close();
  }
}, 30_000);
