/**
 * The playground's "Use knowledge" switch in a real browser (Debian's chromium via playwright-core)
 * against a real `nimbus serve` process: with the switch on, a turn goes through /v1/responses with
 * a file_search tool over the chosen store, and the page shows the search as a tool call with its
 * queries and passages, the answer with its citation inline and the cited file under it. Choosing
 * the queries and writing from passages needs judgement a 260K model lacks (and its 512-token
 * context cannot hold a second turn with passages), so a scripted OpenAI-compatible upstream
 * decides the turns; the loop, the store, the search and the page are real. Screenshots go to
 * test-results/console/. Run `npm run build` first (it builds console/dist).
 */
import OpenAI, { toFile } from 'openai';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium, screenshot, signedInPage, skipWithoutChromium } from './support/browser.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { startSafetyServer, startScriptedUpstream, type SafetyServer, type ScriptedUpstream } from './support/safety-rig.js';

const skip = skipWithoutChromium();
let upstream: ScriptedUpstream;
let server: SafetyServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (skip) return;
  upstream = await startScriptedUpstream();
  server = await startSafetyServer({ upstream });
  const key = await server.key(undefined, 'operator', { admin: true });
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0 });
  const store = await client.vectorStores.create({ name: 'ocean notes' });
  const file = await client.files.create({
    file: await toFile(Buffer.from('Antarctic krill are small crustaceans. Whales and penguins eat krill in cold water.'), 'krill.md'),
    purpose: 'assistants',
  });
  expect(await client.vectorStores.files.createAndPoll(store.id, { file_id: file.id }, { pollIntervalMs: 50 })).toMatchObject({ status: 'completed' });
  browser = await launchChromium();
  page = await signedInPage(browser, server.url, key);
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await upstream?.close();
  killNimbusProcesses();
});

describe.skipIf(skip)('the playground with knowledge', () => {
  test('searches the chosen store, shows the search as it runs, and cites the file inline and below the answer', async () => {
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Playground' }).click();
    await page.getByRole('heading', { level: 1, name: 'Playground' }).waitFor();
    await page.getByLabel('Use knowledge').check();
    // The store list is read when the switch goes on, and the first store is chosen.
    await expect
      .poll(() =>
        page
          .getByLabel('Vector stores')
          .evaluate((select) => Array.from((select as unknown as { selectedOptions: ArrayLike<{ text: string }> }).selectedOptions, (option) => option.text)),
      )
      .toEqual(['ocean notes']);
    await page.getByLabel('Max tokens').fill('64');
    upstream.play([{ calls: [{ name: 'file_search', arguments: { queries: ['krill food'] } }] }, { text: 'Whales and penguins eat krill.' }]);
    await page.getByLabel(/^Message/).fill('Who eats krill?');
    await page.getByLabel(/^Message/).press('Enter');
    await page.getByTestId('chat-usage').waitFor({ timeout: 60_000 });
    await screenshot(page, 'playground-knowledge-answered');
    const answer = page.getByTestId('chat').locator('article.message.assistant');
    expect(await answer.locator('.activity').textContent()).toContain('file_search({"queries":["krill food"]} → 1 passage)');
    expect(await page.getByTestId('answer').textContent()).toBe('Whales and penguins eat krill.[1]');
    expect(await page.getByTestId('citations').textContent()).toBe('krill.md');
    expect(await answer.getByRole('link', { name: 'source 1: krill.md' }).textContent()).toBe('[1]');
    // The model was given the passage and the request the page made was a forced, unstored search.
    expect(JSON.stringify(upstream.requests[1])).toContain('Antarctic krill are small crustaceans');
    await screenshot(page, 'playground-knowledge-cited');

    // Off again, the next turn is a plain chat: no search and no citation.
    await page.getByLabel('Use knowledge').uncheck();
    upstream.play([{ text: 'They swim on.' }]);
    await page.getByLabel(/^Message/).fill('And then?');
    await page.getByLabel(/^Message/).press('Enter');
    await expect.poll(() => answer.count(), { timeout: 60_000 }).toBe(2);
    await page.getByTestId('chat-usage').waitFor({ timeout: 60_000 });
    await expect.poll(() => page.getByTestId('chat').getByText('Writing…').count(), { timeout: 60_000 }).toBe(0);
    expect(await answer.nth(1).locator('[data-testid="citations"]').count()).toBe(0);
    expect(await answer.nth(1).locator('.activity').count()).toBe(0);
  }, 240_000);
});
