/**
 * The console's budgets (issue 27): initial JavaScript at most 120 KB gzipped (pages split by
 * route), and the overview page showing live data at p50 within 250 ms of navigation on loopback
 * with the machine otherwise idle, and at most 3x that while two busy-loop processes take two
 * cores for the whole loaded phase (p90 reported for both). Measured in the browser with the
 * Performance API: the console marks `nimbus:overview-live` once the live feed is connected and
 * finished requests from it are on the charts, and `nimbus:overview-models` once the model list
 * (a plain GET after /v1/me) is shown; both are reported. A server process with
 * stories260K answers a small chat request every 200 ms meanwhile. Each round is a new browser
 * context (cold cache); then the same with the cache warm. The baseline in the same script: the
 * same navigation's DOMContentLoaded, i.e. what the page costs before any data is fetched, and the
 * quiet phase for the loaded one.
 *
 *   npm run build && npx tsx bench/console.ts [--rounds 15]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium, type BrowserContext } from 'playwright-core';
import { benchModelPath, median, repoRoot, report, startServerProcess } from './support.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const rounds = Number(values.rounds);
const budgetBytes = 120 * 1024;
const budgetMs = 250;
const loadedBudget = 3;

/** The scripts index.html loads at start (entry and module preloads), gzipped as the server sends them. */
function initialJavaScript(): { files: number; raw: number; gzipped: number } {
  const dist = join(repoRoot, 'console', 'dist');
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const paths = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((match) => match[1]!);
  let raw = 0;
  let gzipped = 0;
  for (const path of new Set(paths)) {
    const body = readFileSync(join(dist, path));
    raw += body.length;
    gzipped += gzipSync(body, { level: 9 }).length;
  }
  return { files: new Set(paths).size, raw, gzipped };
}

const js = initialJavaScript();
report('console initial JS', {
  files: js.files,
  raw_kb: js.raw / 1024,
  gzipped_kb: js.gzipped / 1024,
  budget_kb: budgetBytes / 1024,
  of_budget: js.gzipped / budgetBytes,
});

const server = await startServerProcess(['--model', benchModelPath(), '--threads', '1', '--ctx', '512'], { NIMBUS_MQTT_URL: 'off' });
for (let tries = 0; tries < 100; tries += 1) {
  const ready = await fetch(`${server.url}/readyz`);
  if (ready.ok && ((await ready.json()) as { models_ready?: boolean }).models_ready !== false) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
let loading = true;
const load = (async () => {
  while (loading) {
    await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 16 }),
    }).then((response) => response.text());
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
})();

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless', '--disable-background-networking'] });

interface Navigation {
  dcl: number;
  live: number;
  models: number;
}

/** One navigation to the overview: ms from navigation start to DOMContentLoaded, to live data and to the model list. */
async function navigate(context: BrowserContext): Promise<Navigation> {
  const page = await context.newPage();
  await page.goto(server.url, { waitUntil: 'commit' });
  await page.waitForFunction(
    "performance.getEntriesByName('nimbus:overview-live').length > 0 && performance.getEntriesByName('nimbus:overview-models').length > 0",
    undefined,
    { timeout: 10_000, polling: 20 },
  );
  const figures = await page.evaluate<Navigation>(
    "({ dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd, live: performance.getEntriesByName('nimbus:overview-live')[0].startTime, models: performance.getEntriesByName('nimbus:overview-models')[0].startTime })",
  );
  if (process.env.NIMBUS_BENCH_TRACE) {
    const trace = await page.evaluate<string>(
      "performance.getEntriesByType('resource').map((entry) => `${new URL(entry.name).pathname} start=${Math.round(entry.startTime)} responseStart=${Math.round(entry.responseStart)} end=${Math.round(entry.responseEnd)}`).join('\\n')",
    );
    const marks = await page.evaluate<string>("performance.getEntriesByType('mark').map((entry) => `${entry.name}=${Math.round(entry.startTime)}`).join(' ')");
    console.log(`live=${Math.round(figures.live)} dcl=${Math.round(figures.dcl)} ${marks}\n${trace}`);
  }
  await page.close();
  return figures;
}

/** The p-th percentile (0-100) of the values, nearest rank. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** `rounds` cold-then-warm navigations, each in a fresh context. */
async function phase(): Promise<{ cold: Navigation[]; warm: Navigation[] }> {
  const cold: Navigation[] = [];
  const warm: Navigation[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
    cold.push(await navigate(context));
    warm.push(await navigate(context));
    await context.close();
  }
  return { cold, warm };
}

/** Two processes spinning for the whole loaded phase: a machine busy with other work. */
function busyLoops(): ChildProcess[] {
  return [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

const quiet = await phase();
const spinners = busyLoops();
let loaded: Awaited<ReturnType<typeof phase>>;
try {
  loaded = await phase();
} finally {
  for (const spinner of spinners) spinner.kill('SIGKILL');
}
await browser.close();
loading = false;
await load;
await server.stop();

for (const [name, runs] of [
  ['quiet, cold cache', quiet.cold],
  ['quiet, warm cache', quiet.warm],
  ['loaded, cold cache', loaded.cold],
  ['loaded, warm cache', loaded.warm],
] as const) {
  const live = runs.map((run) => run.live);
  const dcl = runs.map((run) => run.dcl);
  report(`console overview live, ${name}`, {
    rounds: runs.length,
    live_p50_ms: median(live),
    live_p90_ms: percentile(live, 90),
    live_max_ms: Math.max(...live),
    models_p50_ms: median(runs.map((run) => run.models)),
    dcl_p50_ms: median(dcl),
    live_over_dcl: median(live) / median(dcl),
    budget_p50_ms: budgetMs,
    of_budget: median(live) / budgetMs,
  });
}
for (const cache of ['cold', 'warm'] as const) {
  const ratio = median(loaded[cache].map((run) => run.live)) / median(quiet[cache].map((run) => run.live));
  report(`console overview live, loaded over quiet, ${cache} cache`, { p50_ratio: ratio, budget: loadedBudget, of_budget: ratio / loadedBudget });
}
