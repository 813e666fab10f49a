/**
 * The console's Workers page in Debian's chromium against real processes: a `nimbus serve`
 * control plane (local mode, 1 s heartbeats), two `nimbus worker` processes with stories260K
 * placed on one of them, and a third worker that joins and beats through the same worker API with
 * a GPU in its report (a CPU-only machine has no GPU figures to draw). The page lists each worker
 * with its charts drawn; "Add a worker" shows the join command once; Drain moves the replica to
 * the other worker and the page shows the drained worker as drained. Each step saves a screenshot
 * to test-results/console/ (workers-*.png). Run `npm run build` first.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium, screenshot, skipWithoutChromium } from './support/browser.js';
import { killNimbusProcesses, startNimbusProcess, type NimbusProcess } from './support/nimbus-process.js';
import { poolAdmin, readyWorkers } from './support/pool-admin.js';
import { killWorkerProcesses, startWorkerProcess } from './support/pool-processes.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel() || skipWithoutChromium();
let controlPlane: NimbusProcess;
let browser: Browser;
let page: Page;
let simulatedBeats: ReturnType<typeof setInterval> | undefined;
const { call: admin, waitForDeployment } = poolAdmin(() => controlPlane.url);
const gib = 1024 ** 3;

/** The GPU machine's report: an 80 GB GPU 75% busy; no free RAM, so the CPU deployment is never placed on it. */
const gpuHardware = {
  cpuModel: 'simulated',
  cores: 16,
  ramTotalBytes: 64 * gib,
  ramFreeBytes: 0,
  cpuUtilization: 0.3,
  gpus: [{ index: 0, name: 'NVIDIA H100', totalBytes: 80 * gib, freeBytes: 60 * gib, backend: 'cuda', driver: '550', utilizationPercent: 75 }],
};

beforeAll(async () => {
  if (skip) return;
  controlPlane = await startNimbusProcess(['--log-level', 'warn'], { NIMBUS_POOL_HEARTBEAT_MS: '1000' });
  const { token } = await admin<{ token: string }>('POST', '/v1/pool/join-tokens', {});
  await Promise.all(['w1', 'w2'].map((name) => startWorkerProcess(name, controlPlane.url, token)));
  const joined = await admin<{ credential: string }>('POST', '/v1/pool/workers/join', {
    token,
    name: 'gpu-sim',
    endpoint: 'http://127.0.0.1:9',
    hardware: gpuHardware,
  });
  const beat = (): Promise<unknown> =>
    fetch(`${controlPlane.url}/v1/pool/workers/heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${joined.credential}` },
      body: JSON.stringify({ load: { activeSequences: 2, queueDepth: 0, tokensPerSecond: 120, memoryInUseBytes: 0 }, hardware: gpuHardware, replicas: [] }),
    }).catch(() => undefined);
  await beat();
  simulatedBeats = setInterval(() => void beat(), 1000);
  await admin('POST', '/v1/deployments', { model: storiesPath, name: 'stories', replicas: 1, device: 'cpu', context_size: 256, slots: 2 });
  await waitForDeployment('stories', (deployment) => readyWorkers(deployment).length === 1, 60_000);
  // A few answers, so the holder has tokens per second to draw.
  for (let index = 0; index < 4; index += 1) {
    await admin('POST', '/v1/completions', { model: 'stories', prompt: 'Once upon a time', max_tokens: 24, temperature: 0 });
  }
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
  await page.goto(controlPlane.url);
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
}, 180_000);

afterAll(async () => {
  if (simulatedBeats) clearInterval(simulatedBeats);
  await browser?.close();
  killWorkerProcesses();
  killNimbusProcesses();
});

const card = (name: string) => page.locator(`[data-testid="worker"][data-worker="${name}"]`);

describe.skipIf(skip)('the Workers page in chromium', () => {
  test('is its own chunk and lists every worker with its charts drawn, GPU figures where the machine has a GPU', async () => {
    const before = await page.evaluate(() => performance.getEntriesByType('resource').map((entry) => entry.name));
    expect(before.some((name) => /\/assets\/workers-[^/]+\.js$/.test(name))).toBe(false);
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Workers' }).click();
    await page.getByRole('heading', { level: 1, name: 'Workers' }).waitFor();
    const after = await page.evaluate(() => performance.getEntriesByType('resource').map((entry) => entry.name));
    expect(after.some((name) => /\/assets\/workers-[^/]+\.js$/.test(name))).toBe(true);

    await expect.poll(() => page.getByTestId('worker').count(), { timeout: 20_000 }).toBe(3);
    for (const name of ['w1', 'w2', 'gpu-sim']) {
      const charts = card(name).getByTestId('worker-charts');
      await charts.waitFor({ timeout: 20_000 });
      // Every chart has at least one measured point drawn.
      for (const figure of await charts.locator('figure').all()) expect(await figure.locator('circle.dot').count()).toBeGreaterThan(0);
      await card(name).getByTestId('value-RAM in use').waitFor();
    }
    const gpu = card('gpu-sim');
    await expect.poll(() => gpu.getByTestId('value-GPU utilisation').textContent(), { timeout: 20_000 }).toBe('75 %');
    expect(await gpu.getByTestId('value-GPU memory').textContent()).toBe('20.00 GiB');
    expect(await gpu.getByTestId('value-Tokens per second').textContent()).toBe('120.0 tok/s');
    expect(await gpu.getByTestId('value-CPU').textContent()).toBe('30 %');
    expect(await card('w1').getByTestId('value-GPU memory').count()).toBe(0);
    const holder = readyWorkers(await waitForDeployment('stories', () => true))[0]!;
    await expect.poll(() => card(holder).getByTestId('worker-replicas').textContent()).toMatch(/stories \S+ \(ready\)/);
    await screenshot(page, 'workers-01-list');
  }, 60_000);

  test('"Add a worker" shows the join command with a new token once, and never again', async () => {
    await page.getByRole('button', { name: 'Add a worker' }).click();
    const command = (await page.getByTestId('join-command').textContent()) ?? '';
    expect(command).toMatch(new RegExp(`^NIMBUS_JOIN_TOKEN=nmj_\\S+ nimbus worker --join ${controlPlane.url.replaceAll('.', '\\.')}$`));
    const token = /NIMBUS_JOIN_TOKEN=(\S+)/.exec(command)![1]!;
    await screenshot(page, 'workers-02-join-command');
    // The token is a real one: a machine joins with it (and one a character off does not).
    const join = (candidate: string) =>
      fetch(`${controlPlane.url}/v1/pool/workers/join`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: candidate, name: 'from-page', endpoint: 'http://127.0.0.1:9', hardware: gpuHardware }),
      });
    expect((await join(`${token}x`)).status).toBe(401);
    expect((await join(token)).status).toBe(200);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByTestId('join-once').waitFor({ state: 'detached' });
    expect(await page.content()).not.toContain(token);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Workers' }).waitFor();
    // The machine that joined with it is listed; the command is not shown again.
    await expect.poll(() => page.getByTestId('worker').count(), { timeout: 20_000 }).toBe(4);
    await card('from-page').waitFor();
    expect(await page.content()).not.toContain(token);
    expect(await page.getByTestId('join-command').count()).toBe(0);
  }, 60_000);

  test('Drain moves the replica to the other worker and the page shows the worker drained', async () => {
    const holder = readyWorkers(await waitForDeployment('stories', () => true))[0]!;
    const other = holder === 'w1' ? 'w2' : 'w1';
    await card(holder).getByRole('button', { name: 'Drain' }).click();
    await expect.poll(() => card(holder).getByTestId('worker-state').textContent(), { timeout: 60_000 }).toBe('drained');
    expect(await card(holder).getByTestId('worker-replicas').textContent()).toBe('No replicas.');
    expect(await card(holder).getByTestId('worker-state-line').textContent()).toContain('safe to stop');
    await expect.poll(() => card(other).getByTestId('worker-replicas').textContent(), { timeout: 20_000 }).toMatch(/stories \S+ \(ready\)/);
    await card(holder).getByRole('button', { name: 'Undo drain' }).waitFor();
    await screenshot(page, 'workers-03-drained');
    const workers = await admin<{ data: Array<{ name: string; state: string; replicas: string[] }> }>('GET', '/v1/pool/workers');
    expect(workers.data.find((worker) => worker.name === holder)).toMatchObject({ state: 'drained', replicas: [] });
    expect(readyWorkers(await waitForDeployment('stories', () => true))).toEqual([other]);
  }, 90_000);
});
