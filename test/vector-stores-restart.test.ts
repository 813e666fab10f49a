/**
 * A restart during ingest never leaves a file `in_progress`: entries a stopped process left in
 * progress are ingested again at start (whole, not twice), or fail with the reason when their
 * bytes are gone. The process is stopped and its SQLite database set back by hand, as a crash
 * between taking a file and indexing it leaves it.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import OpenAI, { toFile } from 'openai';
import { afterAll, expect, test } from 'vitest';
import { killNimbusProcesses, startNimbusProcess } from './support/nimbus-process.js';

afterAll(killNimbusProcesses);

test('entries left in progress resume after a restart, or fail with the reason', async () => {
  const first = await startNimbusProcess([]);
  const client = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'local', maxRetries: 0 });
  const before = client(first.url);
  const store = await before.vectorStores.create({ name: 'restart' });
  const kept = await before.files.create({ file: await toFile(Buffer.from('whales eat krill in the ocean'), 'kept.txt'), purpose: 'assistants' });
  const lost = await before.files.create({ file: await toFile(Buffer.from('volcanoes erupt lava'), 'lost.txt'), purpose: 'assistants' });
  await before.vectorStores.fileBatches.createAndPoll(store.id, { file_ids: [kept.id, lost.id] }, { pollIntervalMs: 50 });
  const usage = (await before.vectorStores.retrieve(store.id)).usage_bytes;
  first.child.kill('SIGTERM');
  await new Promise((resolve) => first.child.once('exit', resolve));

  // As a crash mid-ingest leaves them: both in progress, and the second file's bytes gone from disk.
  const database = new SQLite(join(first.home, 'nimbus.db'));
  database.prepare("update knowledge_store_files set status = 'in_progress'").run();
  const sha = database.prepare('select sha256 from knowledge_files where id = ?').pluck().get(lost.id) as string;
  database.close();
  rmSync(join(first.home, 'files', sha.slice(0, 2), sha));

  const second = await startNimbusProcess(['--home', first.home]);
  const after = client(second.url);
  let counts = (await after.vectorStores.retrieve(store.id)).file_counts;
  for (let attempt = 0; attempt < 100 && counts.in_progress > 0; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    counts = (await after.vectorStores.retrieve(store.id)).file_counts;
  }
  expect(counts).toMatchObject({ in_progress: 0, completed: 1, failed: 1, total: 2 });
  expect(await after.vectorStores.files.retrieve(lost.id, { vector_store_id: store.id })).toMatchObject({
    status: 'failed',
    last_error: { code: 'server_error' },
  });
  // The resumed file is indexed once: one hit, and the store's bytes less the lost file's.
  expect((await after.vectorStores.search(store.id, { query: 'krill' })).data.map((hit) => hit.filename)).toEqual(['kept.txt']);
  expect((await after.vectorStores.retrieve(store.id)).usage_bytes).toBe(usage - Buffer.byteLength('volcanoes erupt lava'));
  await second.stop();
});
