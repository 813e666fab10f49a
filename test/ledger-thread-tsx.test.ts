/**
 * The SQLite ledger's own thread starts when Nimbus runs from source under tsx (the benches, a
 * developer's `npx tsx src/cli/main.ts`), not only from dist/: tsx compiles named functions with
 * calls to its `__name` helper, and the thread's code is those functions' source eval'd in a
 * worker, where that helper did not exist, so the ledger fell back to the request thread.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { repoRoot } from './support/shared-model.js';

test('under tsx the ledger writes on its own thread, and a row written there is read back', () => {
  const folder = mkdtempSync(join(tmpdir(), 'nimbus-ledger-tsx-'));
  const script = `
    import { openSqliteStore } from ${JSON.stringify(join(repoRoot, 'src/store/sqlite/open-sqlite-store.ts'))};
    import { ledgerRow } from ${JSON.stringify(join(repoRoot, 'bench/ledger-rows.ts'))};
    const store = await openSqliteStore(${JSON.stringify(join(folder, 'ledger.db'))});
    store.recordRequest(ledgerRow('tsx-row'));
    await store.flush();
    console.log(JSON.stringify({ read: (await store.getRequest('tsx-row'))?.id ?? null }));
    await store.close();
  `;
  // A file, as the benches are run (tsx -e with --input-type=module would make the worker's eval ESM too).
  writeFileSync(join(folder, 'run.mts'), script);
  try {
    const run = spawnSync(join(repoRoot, 'node_modules', '.bin', 'tsx'), [join(folder, 'run.mts')], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    // The store says so on stderr when its thread did not start and the request thread writes instead.
    expect(run.stderr).not.toContain('the ledger writes on the request thread');
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toEqual({ read: 'tsx-row' });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
