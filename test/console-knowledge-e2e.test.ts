/**
 * The console's Knowledge page in a real browser (Debian's chromium via playwright-core) against a
 * real `nimbus serve` process with stories260K: create a vector store, upload files into it and
 * watch them index (a file's badge goes from in progress to completed without a reload, the bar
 * ends full), search it and see scored chunks with their file names, remove a file, delete the
 * store. Each step saves a
 * screenshot to test-results/console/. Run `npm run build` first (it builds console/dist).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openLazyPage, screenshot, skipWithoutChromium, startConsoleRig, type ConsoleRig } from './support/browser.js';
import { callJson } from './support/json-api.js';
import { killNimbusProcesses, type NimbusProcess } from './support/nimbus-process.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel() || skipWithoutChromium();
let server: NimbusProcess;
let rig: ConsoleRig | undefined;
let page: Page;
let key = '';

/** About 6 MB of words: long enough to read, chunk and index that the page sees it in progress. */
function largeText(): string {
  const words = ['ocean', 'current', 'salt', 'tide', 'reef', 'plankton', 'coast', 'storm', 'harbour', 'wave'];
  const lines: string[] = [];
  for (let line = 0; line < 60_000; line += 1) lines.push(`Line ${line}: the ${words[line % 10]!} and the ${words[(line * 7) % 10]!} meet ${line % 97} times.`);
  return lines.join('\n');
}

beforeAll(async () => {
  if (skip) return;
  rig = await startConsoleRig(storiesPath!);
  ({ server, key, page } = rig);
}, 180_000);
afterAll(async () => {
  await rig?.stop();
  killNimbusProcesses();
});

describe.skipIf(skip)('the Knowledge page in chromium', () => {
  test('is its own chunk, fetched when first opened', async () => {
    expect(await openLazyPage(page, 'Knowledge', 'knowledge')).toEqual({ before: false, after: true });
    await page.getByText('No vector stores yet.').waitFor();
  });

  test('creates a store, uploads files and shows them indexing, then completed', async () => {
    await page.getByLabel('Store name').fill('ocean notes');
    await page.getByRole('button', { name: 'Create store' }).click();
    const panel = page.getByRole('region', { name: 'Store ocean notes' });
    await panel.waitFor();
    expect(await page.getByTestId('vector-stores').textContent()).toContain('no files yet');
    await screenshot(page, 'knowledge-01-created');

    // Every state the row of the large file takes on screen: the page shows a file as the server
    // answered its addition (in progress) before it reads the store again, so that state is drawn
    // even when indexing ends before the next read.
    await page.evaluate(`
      window.tidesStates = [];
      new MutationObserver(() => {
        const row = [...document.querySelectorAll('[data-testid="store-files"] tbody tr')].find((tr) => tr.textContent.includes('tides.txt'));
        const states = window.tidesStates;
        const state = row && row.querySelector('.badge') ? row.querySelector('.badge').textContent : null;
        if (state && states[states.length - 1] !== state) states.push(state);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    `);
    await panel
      .getByLabel('Files (text, Markdown, HTML, PDF)')
      .setInputFiles([{ name: 'tides.txt', mimeType: 'text/plain', buffer: Buffer.from(largeText()) }]);
    await panel.getByRole('button', { name: 'Upload and index' }).click();
    const files = panel.getByTestId('store-files');
    const bar = panel.getByRole('progressbar', { name: 'Indexing of ocean notes' });
    await files.getByRole('row', { name: /tides\.txt/ }).waitFor({ timeout: 60_000 });
    await screenshot(page, 'knowledge-02-indexing');
    // Then it completes without a reload: the page polls while anything is in progress.
    await files.getByRole('row', { name: /tides\.txt.*completed/ }).waitFor({ timeout: 60_000 });
    expect(await page.evaluate<string[]>('window.tidesStates')).toEqual(['in progress', 'completed']);
    await panel.getByLabel('Files (text, Markdown, HTML, PDF)').setInputFiles([
      {
        name: 'krill.md',
        mimeType: 'text/markdown',
        buffer: Buffer.from('# Krill\n\nAntarctic krill are small crustaceans; whales and penguins eat krill.'),
      },
    ]);
    await panel.getByRole('button', { name: 'Upload and index' }).click();
    await files.getByRole('row', { name: /krill\.md.*completed/ }).waitFor({ timeout: 60_000 });
    await expect.poll(() => bar.getAttribute('aria-valuenow'), { timeout: 10_000 }).toBe('100');
    await expect.poll(() => panel.getByTestId('ingest-text').textContent(), { timeout: 10_000 }).toBe('2 of 2 files indexed');
    await expect.poll(() => page.getByTestId('vector-stores').textContent(), { timeout: 10_000 }).toContain('2 of 2 files indexed');
    await screenshot(page, 'knowledge-03-indexed');
  }, 150_000);

  test('a search shows scored chunks with their file names; a bad file fails with its reason', async () => {
    const panel = page.getByRole('region', { name: 'Store ocean notes' });
    await panel.getByLabel('Query').fill('which animals eat krill');
    await panel.getByRole('button', { name: 'Search' }).click();
    const results = panel.getByRole('list', { name: 'Search results' });
    await results.waitFor();
    const first = results.getByRole('listitem').first();
    expect(await first.textContent()).toMatch(/^krill\.md score (0\.\d{3}|1\.000)# Krill\s+Antarctic krill/);
    await screenshot(page, 'knowledge-04-search');
    await panel.getByLabel('Query').fill('zebra');
    await panel.getByRole('button', { name: 'Search' }).click();
    await panel.getByText('No chunk matches “zebra”.').waitFor();

    await panel
      .getByLabel('Files (text, Markdown, HTML, PDF)')
      .setInputFiles([{ name: 'broken.pdf', mimeType: 'application/pdf', buffer: Buffer.from('not a pdf') }]);
    await panel.getByRole('button', { name: 'Upload and index' }).click();
    const failed = panel.getByTestId('store-files').getByRole('row', { name: /broken\.pdf.*failed/ });
    await failed.waitFor({ timeout: 20_000 });
    expect(await failed.textContent()).toMatch(/PDF/);
    await screenshot(page, 'knowledge-05-failed-file');
    await failed.getByRole('button', { name: 'Remove broken.pdf' }).click();
    await expect.poll(() => panel.getByTestId('store-files').getByRole('row').count()).toBe(3);
  });

  test('deletes the store', async () => {
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete ocean notes' }).click();
    await page.getByText('No vector stores yet.').waitFor();
    expect((await callJson(server.url, 'GET', '/v1/vector_stores', undefined, key)).body.data).toEqual([]);
  });
});
