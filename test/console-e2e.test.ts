/**
 * The console in a real browser (Debian's chromium via playwright-core) against a real Nimbus:
 * stories260K, the embedded MQTT broker and virtual devices. One signed-in page walks through what
 * an operator does; each step saves a screenshot to test-results/console/. Run `npm run build`
 * first (it builds console/dist).
 */
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { simCatalog, type SimKind } from '../src/devices/sim/sim-catalog.js';
import { VirtualDevice } from '../src/devices/sim/virtual-device.js';
import { launchChromium, screenshot, skipWithoutChromium } from './support/browser.js';
import { eventually } from './support/devices.js';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';
import { callJson, type JsonAnswer } from './support/json-api.js';

const skip = skipWithoutSharedModel() || skipWithoutChromium();
let server: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let adminKey = '';
const sims = new Map<string, VirtualDevice>();

const api = (method: string, path: string, body?: unknown, key = adminKey): Promise<JsonAnswer> => callJson(server.url, method, path, body, key);

async function addSim(kind: SimKind, id: string): Promise<VirtualDevice> {
  const registered = await api('PUT', `/v1/devices/${id}`, { model: simCatalog[kind].model });
  expect(registered.status).toBe(201);
  const devices = server.nimbus.devices!;
  const sim = await VirtualDevice.start({
    url: devices.broker.url,
    topicRoot: devices.broker.topicRoot,
    tenantId: 'default',
    deviceId: id,
    secret: registered.body.secret,
    kind,
  });
  sims.set(id, sim);
  return sim;
}

async function open(title: string): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Pages' })
    .getByRole('link', { name: new RegExp(`^${title}(\\W+\\d+ waiting)?$`) })
    .click();
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
}

beforeAll(async () => {
  if (skip) return;
  server = await startTestServer();
  // Local mode until the first key: the operator's admin key, then every request needs a key.
  const created = await api('POST', '/v1/keys', { name: 'operator', scopes: { admin: true, devices: '*' } }, '');
  expect(created.status).toBe(201);
  adminKey = created.body.key;
  await addSim('lamp', 'e2e-lamp-1');
  await addSim('lock', 'e2e-lock-1');
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  page = await context.newPage();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  for (const sim of sims.values()) await sim.stop().catch(() => undefined);
  await server?.stop();
});

describe.skipIf(skip)('the console in chromium', () => {
  test('signs in with an API key, which stays in the tab', async () => {
    await page.goto(server.url);
    await page.getByRole('heading', { name: 'Sign in to Nimbus' }).waitFor();
    await page.getByLabel('API key').fill('nmb_not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('did not accept this API key');
    await page.getByLabel('API key').fill(adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    expect(await page.evaluate<string | null>("sessionStorage.getItem('nimbus.apiKey')")).toBe(adminKey);
    expect(await page.getByRole('region', { name: 'Emergency stop' }).textContent()).toContain('normal operation');
    await screenshot(page, '01-signed-in');
    // Dark theme from the system setting; light again after.
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await page.evaluate<string>('getComputedStyle(document.body).backgroundColor')).toBe('rgb(20, 22, 26)');
    await screenshot(page, '01-signed-in-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await page.evaluate<string>('getComputedStyle(document.body).backgroundColor')).toBe('rgb(247, 247, 245)');
  });

  test('works from the keyboard: skip link first, pages reachable with Tab and Enter', async () => {
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Skip to the page');
    for (let presses = 0; presses < 20; presses += 1) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate<string>('document.activeElement.textContent')) === 'Audit log') break;
    }
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await page.getByTestId('audit').getByText('device registered').first().waitFor();
    await screenshot(page, '01-audit-by-keyboard');
  });

  test('chat streams text into the playground', async () => {
    await open('Playground');
    await expect.poll(() => page.getByLabel('Model', { exact: true }).inputValue()).toBe('stories');
    await page.getByLabel('Max tokens').fill('300');
    // Record every length the answer takes on screen: a streamed answer grows in several steps.
    await page.evaluate(`
      window.answerLengths = [];
      new MutationObserver(() => {
        const answer = document.querySelector('[data-testid="answer"]');
        const lengths = window.answerLengths;
        if (answer && lengths[lengths.length - 1] !== answer.textContent.length) lengths.push(answer.textContent.length);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    `);
    await page.getByLabel(/^Message/).fill('Once upon a time');
    await page.getByLabel(/^Message/).press('Enter');
    await page.getByTestId('chat-usage').waitFor();
    const lengths = await page.evaluate<number[]>('window.answerLengths');
    const answer = (await page.getByTestId('answer').textContent())!;
    expect(answer.length).toBeGreaterThan(20);
    expect(lengths.length).toBeGreaterThan(2);
    expect(lengths[0]).toBeLessThan(answer.length);
    expect(lengths[lengths.length - 1]).toBe(answer.length);
    expect(await page.getByTestId('chat-usage').textContent()).toMatch(/\d+ prompt \+ \d+ completion tokens · first token after \d+ ms/);
    await screenshot(page, '02-playground-streamed');
  });

  test('creates a key and shows it once, with a copy button', async () => {
    await open('Keys and tenants');
    await page.getByLabel('Name', { exact: true }).fill('e2e-app');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByTestId('new-key');
    await shown.waitFor();
    const key = (await shown.textContent())!.trim();
    expect(key).toMatch(/^nmb_/);
    await page.getByRole('button', { name: 'Copy key' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(key);
    await screenshot(page, '03-key-shown-once');
    // The key works, and is listed by its prefix only.
    expect((await api('GET', '/v1/me', undefined, key)).body).toMatchObject({ scopes: { admin: false } });
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await expect.poll(async () => (await page.content()).includes(key)).toBe(false);
    const row = page.getByTestId('keys').getByRole('row', { name: /e2e-app/ });
    expect(await row.textContent()).toContain(`${key.slice(0, 12)}`);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Keys and tenants' }).waitFor();
    await page
      .getByTestId('keys')
      .getByRole('row', { name: /e2e-app/ })
      .waitFor();
    expect((await page.content()).includes(key)).toBe(false);
  });

  test("a lock's unlock waits for approval and happens after approving", async () => {
    const lock = sims.get('e2e-lock-1')!;
    await open('Devices');
    await page.getByRole('button', { name: 'e2e-lock-1' }).click();
    const detail = page.getByTestId('device-detail');
    await expect.poll(() => detail.getByTestId('state-locked').textContent()).toBe('true');
    // Typed from the thing model: unlock's input is an object with a ranged integer `seconds` (a slider).
    const unlock = detail.getByRole('form', { name: 'Run unlock' });
    await unlock.getByRole('slider', { name: 'seconds' }).fill('300');
    await unlock.getByRole('button', { name: 'unlock (needs approval)' }).click();
    await expect.poll(() => page.getByTestId('command-state').first().textContent()).toBe('waiting for approval');
    expect(lock.state.locked).toBe(true);
    await screenshot(page, '04-unlock-waiting');

    await open('Approvals');
    const card = page.getByRole('region', { name: /^Approval apr_/ });
    await card.waitFor();
    const text = (await card.textContent())!;
    expect(text).toContain('Run unlock on e2e-lock-1');
    expect(text).toContain('"seconds": 300');
    expect(text).toMatch(/Keykey_\w+/);
    await screenshot(page, '05-approval-pending');
    // The key that asked cannot approve its own command (issue 17): the console says so and offers no Approve.
    expect(await card.getByTestId('waiting-for-another-admin').textContent()).toMatch(/Waiting for another admin/);
    expect(await card.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    const approvalId = /Approval (apr_\w+)/.exec((await card.getAttribute('aria-label'))!)![1]!;
    const second = await api('POST', '/v1/keys', { name: 'second-admin', scopes: { admin: true, devices: '*' } });
    expect((await api('POST', `/v1/approvals/${approvalId}/grant`, { via: 'console' }, second.body.key)).status).toBe(200);
    await page.getByText('Nothing waits for a decision.').waitFor();

    await eventually(() => expect(lock.state.locked).toBe(false), 10_000);
    await open('Devices');
    await expect.poll(() => page.getByTestId('command-state').first().textContent()).toBe('done');
    await page.getByRole('button', { name: 'e2e-lock-1' }).click();
    await expect.poll(() => page.getByTestId('device-detail').getByTestId('state-locked').textContent()).toBe('false');
    await screenshot(page, '06-unlocked-after-approval');
  });

  test("a device's controls follow its thing model: a switch, a slider, an action button, a chart of the numbers", async () => {
    const lamp = sims.get('e2e-lamp-1')!;
    await page.getByRole('button', { name: 'e2e-lamp-1' }).click();
    const detail = page.getByTestId('device-detail');
    const wasOn = lamp.state.on;
    await detail.getByRole('switch', { name: 'on' }).click();
    await eventually(() => expect(lamp.state.on).toBe(!wasOn), 10_000);
    const brightness = detail.getByRole('form', { name: 'Set brightness' });
    await brightness.getByRole('slider').fill('70');
    expect(await brightness.locator('output').textContent()).toBe('70 percent');
    await brightness.getByRole('button', { name: 'Set' }).click();
    await eventually(() => expect(lamp.state.brightness).toBe(70), 10_000);
    await detail.getByRole('form', { name: 'Run toggle' }).getByRole('button', { name: 'toggle' }).click();
    await eventually(() => expect(lamp.state.on).toBe(wasOn), 10_000);
    await expect.poll(() => detail.getByTestId('state-brightness').textContent()).toBe('70');
    await expect.poll(() => detail.getByTestId('value-brightness').textContent()).toBe('70 percent');
    // The list's state column summarises in words, never raw JSON.
    expect(await page.getByRole('region', { name: 'Device list' }).textContent()).toMatch(/brightness 70/);
    await screenshot(page, '065-typed-controls');
  });

  test('the emergency stop refuses the next command', async () => {
    const lamp = sims.get('e2e-lamp-1')!;
    const before = lamp.state.brightness;
    await page.getByRole('button', { name: 'Emergency stop' }).click();
    await expect.poll(() => page.getByRole('region', { name: 'Emergency stop' }).textContent()).toContain('Emergency stop is ON');
    await page.getByRole('button', { name: 'e2e-lamp-1' }).click();
    const brightness = page.getByTestId('device-detail').getByRole('form', { name: 'Set brightness' });
    await brightness.getByRole('slider').fill('20');
    await brightness.getByRole('button', { name: 'Set' }).click();
    await expect.poll(() => page.getByTestId('command-state').first().textContent()).toBe('failed');
    expect(await page.getByTestId('commands').getByRole('alert').first().textContent()).toMatch(/emergency stop/i);
    expect(lamp.state.brightness).toBe(before);
    await screenshot(page, '07-emergency-stop-refused');
    await page.getByRole('button', { name: 'Clear emergency stop' }).click();
    await expect.poll(() => page.getByRole('region', { name: 'Emergency stop' }).textContent()).toContain('normal operation');
  });

  test('usage charts show the requests just made, and the overview its live charts', async () => {
    // Two more requests through the API, with the same key.
    for (let index = 0; index < 2; index += 1) {
      const answer = await api('POST', '/v1/chat/completions', { model: 'stories', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 16 });
      expect(answer.status).toBe(200);
    }
    await open('Usage');
    const byModel = page.getByRole('figure', { name: /By model/ });
    await expect
      .poll(
        async () =>
          (await byModel
            .getByRole('row', { name: /stories/ })
            .textContent()
            .catch(() => '')) ?? '',
      )
      .toMatch(/stories\s*3$/);
    await expect.poll(() => page.getByTestId('usage-total').textContent()).toBe('3');
    const byDay = page.getByRole('figure', { name: /By day/ });
    const today = new Date().toISOString().slice(0, 10);
    expect(await byDay.getByRole('row', { name: new RegExp(today) }).textContent()).toMatch(/3$/);
    await screenshot(page, '08-usage');
    // CSV export: fetched with the key, handed to the browser as a download.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^nimbus-usage-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = readFileSync(await download.path(), 'utf8');
    expect(csv.split('\n')[0]).toBe(
      'model,key_id,day,device_class,requests,prompt_tokens,cached_tokens,completion_tokens,total_tokens,compute_seconds,cost_usd',
    );
    expect(csv).toMatch(new RegExp(`^stories,key_\\w+,${today},cpu,3,`, 'm'));

    await open('Overview');
    // The requests of the last minute came with the live feed (the page was reloaded since the
    // playground's), and the next one arrives as it finishes.
    await expect.poll(async () => Number(await page.getByTestId('requests-seen').textContent())).toBeGreaterThanOrEqual(2);
    const seen = Number(await page.getByTestId('requests-seen').textContent());
    await api('POST', '/v1/chat/completions', { model: 'stories', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 16 });
    await expect.poll(() => page.getByTestId('requests-seen').textContent()).toBe(String(seen + 1));
    await expect.poll(() => page.getByTestId('value-Tokens/s').textContent()).not.toBe('none yet');
    // The pool panel reads the pool's own endpoints: an admin sees that no worker has joined yet.
    await page.getByText('No worker has joined').waitFor();
    await screenshot(page, '09-overview-live');
  });
});
