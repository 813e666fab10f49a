/**
 * The console's Apps page (issue 23) in a real browser (Debian's chromium via playwright-core)
 * against a real `nimbus serve` process: create the tutor from its template (its five lessons
 * uploaded and indexed into a new store, its quiz and grading variants made), publish a second
 * version from the page's editor, read the diff, roll back and forward, and talk to the app in its
 * playground: a search with its passages and a citation, a function call for the client, and a
 * device action on a virtual lamp (held for approval: the search tainted the key); then the app's
 * usage by version. Choosing queries and tools
 * needs judgement a 260K model lacks, so a scripted OpenAI-compatible upstream decides the turns
 * (model `scripted`); the app, its versions, the store, the search, the device and the page are
 * real. Screenshots go to test-results/console/apps-*.png. Run `npm run build` first.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from './support/devices.js';
import { launchChromium, openLazyPage, screenshot, signedInPage, skipWithoutChromium } from './support/browser.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { startSafetyServer, startScriptedUpstream, type SafetyServer, type ScriptedUpstream } from './support/safety-rig.js';

const skip = skipWithoutChromium();
let upstream: ScriptedUpstream;
let server: SafetyServer;
let browser: Browser;
let page: Page;
let admin: string;

const live = () => page.getByTestId('live-tutor').textContent();

beforeAll(async () => {
  if (skip) return;
  upstream = await startScriptedUpstream();
  server = await startSafetyServer({ upstream });
  admin = await server.key(undefined, 'operator', { admin: true, devices: '*' });
  await server.addSim(admin, 'lamp', 'lamp-1');
  await eventually(async () => expect((await server.api(admin, 'GET', '/v1/devices/lamp-1/twin')).body.connection).toBe('online'), 20_000);
  browser = await launchChromium();
  page = await signedInPage(browser, server.url, admin);
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await upstream?.close();
  killNimbusProcesses();
});

describe.skipIf(skip)('the Apps page in chromium', () => {
  test('is its own chunk; creates the tutor from its template, knowledge and variants included, on a served model', async () => {
    expect(await openLazyPage(page, 'Apps', 'apps')).toEqual({ before: false, after: true });
    await page.getByText('No apps yet.').waitFor();
    await expect
      .poll(() => page.getByLabel('Start from').locator('option').allTextContents())
      .toEqual(['a blank app', 'template: game-character', 'template: in-car-assistant', 'template: literature-assistant', 'template: tutor']);
    await page.getByLabel('Start from').selectOption('tutor');
    // The template was written for a Qwen model this server does not serve: the form picks the served one.
    await expect.poll(() => page.getByLabel('App model').inputValue()).toBe('scripted');
    expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe('tutor');
    expect(await page.getByTestId('template-summary').textContent()).toContain('5 knowledge files go into a new vector store tutor-knowledge');
    await page.getByRole('button', { name: 'Create app' }).click();
    await page.getByTestId('create-progress').getByText('Created tutor, tutor-grading, tutor-quiz.').waitFor({ timeout: 60_000 });
    await expect.poll(() => page.getByTestId('apps').locator('tbody tr').count()).toBe(3);
    expect(await live()).toBe('1');
    await page.getByTestId('app-title').getByText('tutor').first().waitFor();
    await screenshot(page, 'apps-created-from-template');
    const tutor = (await server.api(admin, 'GET', '/v1/apps/tutor')).body;
    expect(tutor).toMatchObject({ live_version: 1, config: { model: 'scripted', memory: true, vector_store_ids: [expect.any(String)] } });
    const files = (await server.api(admin, 'GET', `/v1/vector_stores/${tutor.config.vector_store_ids[0]}`)).body.file_counts;
    expect(files).toMatchObject({ completed: 5, failed: 0, total: 5 });
  }, 120_000);

  test('publishes a second version from the editor, shows the diff, rolls back to version 1 and makes version 2 live again', async () => {
    const editor = page.getByLabel(/^Config of the next version/);
    const config = JSON.parse(await editor.inputValue()) as Record<string, unknown>;
    expect(config).toMatchObject({ model: 'scripted', temperature: 0.4 });
    const badge = {
      type: 'function',
      name: 'award_badge',
      description: 'Gives the student a badge.',
      parameters: { type: 'object', properties: { badge: { type: 'string' } } },
    };
    await editor.fill(JSON.stringify({ ...config, temperature: 0.2, tools: [badge], devices: ['lamp-1'] }, null, 2));
    await page.getByRole('button', { name: 'Publish version 2' }).click();
    await expect.poll(live).toBe('2');
    const diff = page.getByTestId('version-diff');
    await expect.poll(() => diff.textContent()).toContain('+       "name": "award_badge",');
    const lines = await diff.locator('span').allTextContents();
    expect(lines).toContain('-   "temperature": 0.4,\n');
    expect(lines).toContain('+   "temperature": 0.2,\n');
    expect(lines).toContain('+   "devices": [\n');
    expect(await diff.locator('.diff-removed').count()).toBe(1);
    expect(await page.getByRole('group', { name: 'Version diff' }).textContent()).toContain('Changed: devices, temperature, tools');
    expect(await page.getByTestId('app-versions').locator('tbody tr').first().textContent()).toContain('devices, temperature, tools');
    await screenshot(page, 'apps-version-diff');

    // The same two versions the other way round: what version 2 added, version 1 lacks.
    await page.getByLabel('Compare version').selectOption('2');
    await page.getByLabel('with version').selectOption('1');
    expect(await diff.locator('.diff-removed').allTextContents()).toContain('-       "name": "award_badge",\n');

    await page.getByRole('button', { name: 'Roll back to version 1' }).click();
    await expect.poll(live).toBe('1');
    expect((await server.api(admin, 'GET', '/v1/apps/tutor')).body).toMatchObject({ live_version: 1, latest_version: 2 });
    await screenshot(page, 'apps-rolled-back');
    await page.getByRole('button', { name: 'Make version 2 live' }).click();
    await expect.poll(live).toBe('2');
  }, 60_000);

  test('the playground calls the app: the passages found and a citation, a function call for the client, a device action', async () => {
    const panel = page.getByRole('region', { name: 'Try the app' });
    const answers = panel.locator('article.message.assistant');
    const send = async (text: string) => {
      await panel.getByLabel('Message').fill(text);
      await panel.getByRole('button', { name: 'Send' }).click();
    };

    upstream.play([
      { calls: [{ name: 'file_search', arguments: { queries: ['median middle value'] } }] },
      { text: 'The median is the middle value of the sorted list.' },
    ]);
    await send('What is a median?');
    await panel.getByTestId('chat-usage').waitFor({ timeout: 60_000 });
    const first = answers.first();
    expect(await first.locator('.activity').textContent()).toMatch(/file_search\(\{"queries":\["median middle value"\]\} → \d+ passages?\)/);
    expect(await first.getByTestId('passages').locator('li').count()).toBeGreaterThan(0);
    expect(await first.getByTestId('passages').textContent()).toMatch(/lesson-\d-[a-z]+\.md/);
    expect(await first.getByTestId('citations').textContent()).toMatch(/^(lesson-\d-[a-z]+\.md)+$/);
    expect(await first.getByTestId('answer').textContent()).toMatch(/^The median is the middle value of the sorted list\.(\[\d\])+$/);
    // The app's instructions, tools and sampling of version 2 were what the model was given.
    expect(JSON.stringify(upstream.requests[0])).toContain('patient tutor');
    expect(upstream.requests[0]).toMatchObject({ temperature: 0.2 });
    expect(JSON.stringify(upstream.requests[0].tools)).toContain('award_badge');
    await screenshot(page, 'apps-playground-citation');

    upstream.play([{ calls: [{ name: 'award_badge', arguments: { badge: 'gold' } }] }]);
    await send('I got them all right!');
    await answers.nth(1).getByText('award_badge({"badge":"gold"})').waitFor({ timeout: 60_000 });
    await expect.poll(() => panel.getByText('Writing…').count(), { timeout: 30_000 }).toBe(0);

    // The first turn's search put passages (text from elsewhere) before the model, which taints the
    // key for the taint window: the lamp command waits for a person's approval and nothing is sent.
    upstream.play([{ calls: [{ name: 'lamp-1__set_on', arguments: { value: true } }] }, { text: 'I asked for the lamp.' }]);
    await send('Turn on the lamp, please.');
    const actions = answers.nth(2).getByRole('list', { name: 'Device actions' });
    await actions.waitFor({ timeout: 60_000 });
    expect(await actions.textContent()).toMatch(/^approval_required lamp-1 action lamp-1__set_on: Needs a human approval \(untrusted content in context\)/);
    expect(server.sims.get('lamp-1')!.state.on).toBe(false);
    await screenshot(page, 'apps-playground-tool-and-device');
  }, 180_000);

  test('usage over time of the app alone, by version', async () => {
    const chart = page.getByTestId('usage-over-time');
    expect(await chart.getByLabel('Split by').inputValue()).toBe('app_version');
    await chart.getByLabel('Chart measure').selectOption('total_tokens');
    // The scripted upstream reports 15 tokens a call; the turns above ran on version 2.
    await expect.poll(() => chart.textContent(), { timeout: 20_000 }).toMatch(/version 2 [1-9]\d*/);
    expect(await chart.textContent()).not.toContain('version 1');
    await screenshot(page, 'apps-usage');
  }, 60_000);
});
