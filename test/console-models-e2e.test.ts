/**
 * The console's Models page, key limits and the playground's in-chat approval in a real browser
 * (Debian's chromium via playwright-core). A real Nimbus with stories260K pulls from a local
 * stand-in for the Hugging Face hub (test/support/model-hub.ts); the playground runs against a
 * server whose model is scripted (test/support/device-server.ts), so the risky tool call it makes
 * is exact rather than up to a 260K-parameter model with 512 tokens of context. Each step saves a
 * screenshot to test-results/console/. Run `npm run build` first (it builds console/dist).
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium, screenshot, signIn, skipWithoutChromium } from './support/browser.js';
import { startDeviceServer, type DeviceServer } from './support/device-server.js';
import { eventually } from './support/devices.js';
import { startModelHub, type ModelHub } from './support/model-hub.js';
import { repoRoot, skipWithoutSharedModel, storiesPath } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';
import { callJson, type JsonAnswer } from './support/json-api.js';

const skip = skipWithoutSharedModel() || skipWithoutChromium();
let hub: ModelHub;
let server: TestServer;
let devices: DeviceServer;
let browser: Browser;
let page: Page;
let adminKey = '';

const api = (method: string, path: string, body?: unknown, key = adminKey): Promise<JsonAnswer> => callJson(server.url, method, path, body, key);

async function open(on: Page, title: string): Promise<void> {
  await on
    .getByRole('navigation', { name: 'Pages' })
    .getByRole('link', { name: new RegExp(`^${title}(\\W+\\d+ waiting)?$`) })
    .click();
  await on.getByRole('heading', { level: 1, name: title }).waitFor();
}

beforeAll(async () => {
  if (skip) return;
  hub = await startModelHub();
  // stories260K (1.2 MB) in 16 KiB steps every 50 ms: a pull of about 4 s, long enough to watch.
  hub.add('owner/repo/stories.gguf', { data: readFileSync(storiesPath!), chunkBytes: 16 * 1024, stepMs: 50 });
  server = await startTestServer({ hfEndpoint: hub.url });
  // A file already in the cache, where `nimbus pull hf:owner/cached/stories.gguf` would have put it.
  const cached = join(server.home, 'models', 'hf', 'owner', 'cached', 'main');
  mkdirSync(cached, { recursive: true });
  copyFileSync(storiesPath!, join(cached, 'stories.gguf'));
  const created = await api('POST', '/v1/keys', { name: 'operator', scopes: { admin: true } }, '');
  expect(created.status).toBe(201);
  adminKey = created.body.key;
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
  await signIn(page, server.url, adminKey);
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await devices?.close();
  await server?.stop();
  await hub?.close();
});

describe.skipIf(skip)('the Models page, key limits and in-chat approvals in chromium', () => {
  test('the Models page lists the cached file with its size and use', async () => {
    await open(page, 'Models');
    const row = page.getByTestId('model-files').getByRole('row', { name: /hf:owner\/cached\/stories\.gguf/ });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/1\.2 MB.*not in use/);
    await screenshot(page, 'models-01-cached');
  });

  test('a pull from the hub shows a live progress bar and ends in the list', async () => {
    await page.getByLabel('Reference').fill('hf:owner/repo/stories.gguf');
    await page.getByRole('button', { name: 'Pull', exact: true }).click();
    const bar = page.getByRole('progressbar', { name: 'Pull of hf:owner/repo/stories.gguf' });
    // Seen part way: the feed's model_pull events move the bar while the bytes arrive.
    await expect.poll(async () => Number((await bar.getAttribute('aria-valuenow')) ?? 0), { timeout: 10_000, interval: 50 }).toBeGreaterThan(0);
    const partWay = Number(await bar.getAttribute('aria-valuenow'));
    expect(partWay).toBeLessThan(100);
    expect(await page.getByTestId('pull-text').first().textContent()).toMatch(/^downloading · \d+% · [\d.]+ (kB|MB) of 1\.2 MB$/);
    await screenshot(page, 'models-02-pull-progress');
    await expect.poll(() => page.getByTestId('pull-text').first().textContent(), { timeout: 20_000 }).toBe('done · 1.2 MB');
    await page
      .getByTestId('model-files')
      .getByRole('row', { name: /hf:owner\/repo\/stories\.gguf/ })
      .waitFor();
    await screenshot(page, 'models-03-pulled');
  });

  test('deploys a cached model, explains its placement, scales and removes it', async () => {
    await page
      .getByTestId('model-files')
      .getByRole('row', { name: /hf:owner\/cached\/stories\.gguf/ })
      .getByRole('button', { name: 'Deploy' })
      .click();
    const form = page.getByRole('form', { name: 'Deploy a model' });
    await expect.poll(() => form.getByLabel('Model').inputValue()).toBe('hf:owner/cached/stories.gguf');
    await form.getByLabel('Name (default: the file name)').fill('e2e-stories');
    await form.getByLabel('Context').fill('256');
    await form.getByLabel('Slots', { exact: true }).fill('1');
    expect(await form.getByLabel('Spare slots').inputValue()).toBe('1');
    await form.getByLabel('Spare slots').fill('2');
    await form.getByLabel('Device').selectOption('cpu');
    await form.getByRole('button', { name: 'Deploy' }).click();
    const card = page.getByRole('article', { name: 'Deployment e2e-stories' });
    await card.waitFor();
    expect(await card.textContent()).toContain('0 of 1 replicas placed · device cpu · ctx 256 · 1 slots + 2 spare · routing');
    // The cached file is now in use by the deployment.
    await expect
      .poll(() =>
        page
          .getByTestId('model-files')
          .getByRole('row', { name: /hf:owner\/cached\/stories\.gguf/ })
          .textContent(),
      )
      .toContain('deployment e2e-stories');
    await card.getByRole('button', { name: 'Explain placement' }).click();
    const explain = card.getByTestId('explain');
    await explain.waitFor();
    expect(await explain.textContent()).toMatch(
      /^e2e-stories: 0 of 1 replicas placed \(hf:owner\/cached\/stories\.gguf, ctx 256, slots 1 \+ 2 spare, device cpu\)/,
    );
    await screenshot(page, 'models-04-deploy-explain');
    await card.getByLabel('Replicas of e2e-stories').fill('2');
    await card.getByRole('button', { name: 'Scale' }).click();
    await expect.poll(() => card.textContent()).toContain('0 of 2 replicas placed');
    expect((await api('GET', '/v1/deployments')).body.data[0]).toMatchObject({ name: 'e2e-stories', replicas: 2, slots: 1, spareSlots: 2 });
    page.once('dialog', (dialog) => void dialog.accept());
    await card.getByRole('button', { name: 'Remove' }).click();
    await page.getByText('Nothing is deployed on the pool yet.').waitFor();
    expect((await api('GET', '/v1/deployments')).body.data).toEqual([]);
  });

  test("edits a key's limits; the key meets them on its next request", async () => {
    const key = (await api('POST', '/v1/keys', { name: 'e2e-limits', limits: { requests_per_minute: 1, tokens_per_day: 100_000 } })).body;
    const chat = () => api('POST', '/v1/chat/completions', { model: 'stories', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }, key.key);
    expect((await chat()).status).toBe(200);
    expect((await chat()).status).toBe(429);
    await open(page, 'Keys and tenants');
    // The key's own row (the editor opens in a row of its own below it).
    const row = page
      .getByTestId('keys')
      .getByRole('row', { name: /e2e-limits/ })
      .first();
    expect(await row.textContent()).toContain('requests per minute 1, tokens per day 100000');
    await row.getByRole('button', { name: 'Edit limits' }).click();
    const form = page.getByRole('form', { name: 'Limits of e2e-limits' });
    await form.getByLabel('Requests/min').fill('50');
    await form.getByLabel('Tokens/day').fill('');
    await screenshot(page, 'keys-01-edit-limits');
    await form.getByRole('button', { name: 'Save limits' }).click();
    await expect.poll(() => row.textContent()).toContain('requests per minute 50');
    expect(await row.textContent()).not.toContain('tokens per day');
    expect((await api('GET', `/v1/keys/${key.id}`)).body.limits).toEqual({ requests_per_minute: 50 });
    expect((await chat()).status).toBe(200);
    await screenshot(page, 'keys-02-limits-saved');
  });

  test('the playground: a risky device action the model asks for waits; Approve in the chat approves it and it happens', async () => {
    // Local mode (one principal, a person at the console) is where the chat offers Approve: a key's own command waits for another admin (issue 17).
    devices = await startDeviceServer({}, { consoleDirectory: join(repoRoot, 'console', 'dist') });
    const lock = await devices.addSim('lock', 'lock-1');
    await eventually(() => expect(devices.devices.gateway.twin('acme', 'lock-1').connection).toBe('online'));
    const chatPage = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    // The device server names its callers: `local` is local mode's principal, who may chat, act on every device and approve from the console.
    await signIn(chatPage, devices.url, 'local');
    await open(chatPage, 'Playground');
    await expect.poll(() => chatPage.getByLabel('Model', { exact: true }).inputValue()).toBe('scripted');
    await chatPage.getByLabel('Let the model act on my devices').check();
    // The model asks to unlock (high risk: approval needed) and says so; asked again with the approval, it asks the same and confirms.
    const unlock = { name: 'lock-1__do_unlock', arguments: { seconds: 5 } };
    devices.engine.play([{ calls: [unlock] }, { text: 'Unlocking needs your approval.' }, { calls: [unlock] }, { text: 'The door is unlocked.' }]);
    await chatPage.getByLabel(/^Message/).fill('Unlock the front door, please.');
    await chatPage.getByLabel(/^Message/).press('Enter');
    const approve = chatPage.getByRole('button', { name: /^Approve apr_/ });
    await approve.waitFor();
    expect(await chatPage.getByRole('list', { name: 'Device actions' }).first().textContent()).toContain('approval_required');
    expect(lock.state.locked).toBe(true);
    await screenshot(chatPage, 'playground-01-approval-waiting');
    await approve.click();
    await eventually(() => expect(lock.state.locked).toBe(false), 10_000);
    await expect.poll(() => chatPage.getByTestId('answer').last().textContent()).toBe('The door is unlocked.');
    expect(await chatPage.getByRole('list', { name: 'Device actions' }).last().textContent()).toContain('acked');
    // The approval was granted by the person at the console (recorded as self-approved in local mode) and then redeemed by the chat, once.
    const used = await devices.call('admin', 'GET', '/v1/approvals?status=used');
    expect(used.body.data).toEqual([expect.objectContaining({ device: 'lock-1', name: 'unlock', decided_by: 'self_approved_local' })]);
    await screenshot(chatPage, 'playground-02-approved-and-unlocked');
    await chatPage.close();

    // A key (not local mode) that asks the same waits for another admin: the chat offers no Approve.
    const keyPage = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await signIn(keyPage, devices.url, 'admin');
    await open(keyPage, 'Playground');
    await expect.poll(() => keyPage.getByLabel('Model', { exact: true }).inputValue()).toBe('scripted');
    await keyPage.getByLabel('Let the model act on my devices').check();
    devices.engine.play([{ calls: [unlock] }, { text: 'Unlocking needs another admin.' }]);
    await keyPage.getByLabel(/^Message/).fill('Unlock it again.');
    await keyPage.getByLabel(/^Message/).press('Enter');
    await keyPage.getByTestId('waiting-for-another-admin').waitFor();
    expect(await keyPage.getByRole('button', { name: /^Approve apr_/ }).count()).toBe(0);
    await keyPage.close();
  });
});
