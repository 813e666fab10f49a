/**
 * The console's budgets: initial JavaScript at most 250 KB gzipped, and the overview page showing
 * live data within one second of navigation on loopback, measured in the browser with the
 * Performance API: the console marks `nimbus:overview-live` once the live feed is connected and
 * finished requests from it are on the charts, and `nimbus:overview-models` once the model list
 * (a plain GET after /v1/me) is shown; both are reported. A server process with
 * stories260K answers a small chat request every 200 ms meanwhile. Each round is a new browser
 * context (cold cache); then the same with the cache warm. The baseline in the same script: the
 * same navigation's DOMContentLoaded, i.e. what the page costs before any data is fetched.
 *
 *   npm run build && npx tsx bench/console.ts [--rounds 7]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium, type BrowserContext } from 'playwright-core';
import { benchModelPath, median, repoRoot, report, startServerProcess } from './support.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' } } });
const rounds = Number(values.rounds);
const budgetBytes = 250 * 1024;
const budgetMs = 1000;

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

const cold: Navigation[] = [];
const warm: Navigation[] = [];
for (let round = 0; round < rounds; round += 1) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  cold.push(await navigate(context));
  warm.push(await navigate(context));
  await context.close();
}
await browser.close();
loading = false;
await load;
await server.stop();

for (const [name, runs] of [
  ['cold cache', cold],
  ['warm cache', warm],
] as const) {
  const live = runs.map((run) => run.live);
  const dcl = runs.map((run) => run.dcl);
  report(`console overview live, ${name}`, {
    rounds: runs.length,
    live_p50_ms: median(live),
    live_max_ms: Math.max(...live),
    models_p50_ms: median(runs.map((run) => run.models)),
    models_max_ms: Math.max(...runs.map((run) => run.models)),
    dcl_p50_ms: median(dcl),
    live_over_dcl: median(live) / median(dcl),
    budget_ms: budgetMs,
    of_budget: Math.max(...live) / budgetMs,
  });
}
