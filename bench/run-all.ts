/** Runs every benchmark in turn (`npm run bench`); each prints its own ratio lines. */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
for (const name of ['startup.ts', 'serving.ts', 'gateway.ts', 'tenancy-overhead.ts', 'ledger.ts', 'devices.ts', 'console.ts', 'responses-overhead.ts']) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(here, name)], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
