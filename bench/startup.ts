/**
 * Start-to-ready time without a model load, and idle memory, against a bare node:http server
 * started the same way in this script (the floor for any Node server on this machine).
 *
 *   npm run build && npx tsx bench/startup.ts [--rounds 5]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { median, report, startServerProcess } from './support.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** A bare node:http server: spawn to listening, and its RSS when idle. */
function bareNode(): Promise<{ startMs: number; rss: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['-e', "require('node:http').createServer((q,s)=>s.end('ok')).listen(0,'127.0.0.1',()=>console.log('listening'))"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve) => {
    child.stdout.once('data', () => {
      const startMs = performance.now() - started;
      setTimeout(() => {
        const rss = rssMiB(child.pid!);
        child.once('exit', () => resolve({ startMs, rss }));
        child.kill();
      }, 500);
    });
  });
}

const nimbusStart: number[] = [];
const nimbusRss: number[] = [];
const bareStart: number[] = [];
const bareRss: number[] = [];
for (let round = 0; round < rounds; round += 1) {
  const bare = await bareNode();
  bareStart.push(bare.startMs);
  bareRss.push(bare.rss);
  // No model configured and no network: the default model's download fails at once, so this
  // measures the server itself (store open and migrated, routes, metrics), not a model load.
  const server = await startServerProcess(['--log-level', 'warn']);
  const healthy = await fetch(`${server.url}/healthz`);
  if (!healthy.ok) throw new Error('server not healthy');
  nimbusStart.push(server.startMs);
  await new Promise((resolve) => setTimeout(resolve, 500));
  nimbusRss.push(rssMiB(server.pid));
  await server.stop();
}
report('startup', {
  nimbus_ms: median(nimbusStart),
  bare_node_ms: median(bareStart),
  ratio: median(nimbusStart) / median(bareStart),
  nimbus_idle_rss_mib: median(nimbusRss),
  bare_node_rss_mib: median(bareRss),
  rss_ratio: median(nimbusRss) / median(bareRss),
});
