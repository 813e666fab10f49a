/**
 * The console's Batches page in a real browser (Debian's chromium via playwright-core) against a
 * real `nimbus serve` process with stories260K: upload a JSONL file and start a batch on it, watch
 * its bar reach every line, read the output the page offers, and cancel a long batch part way.
 * Each step saves a screenshot to test-results/console/. Run `npm run build` first.
 */
import OpenAI from 'openai';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openLazyPage, screenshot, skipWithoutChromium, startConsoleRig, type ConsoleRig } from './support/browser.js';
import { killNimbusProcesses, type NimbusProcess } from './support/nimbus-process.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel() || skipWithoutChromium();
let server: NimbusProcess;
let rig: ConsoleRig | undefined;
let page: Page;
let client: OpenAI;

/** `count` chat lines of stories260K, each capped at `tokens`. */
function jsonl(count: number, tokens: number): Buffer {
  const lines = [];
  for (let index = 0; index < count; index += 1)
    lines.push(
      JSON.stringify({
        custom_id: `line-${index}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'stories260K', messages: [{ role: 'user', content: `Once upon a time ${index}` }], max_tokens: tokens, temperature: 0 },
      }),
    );
  return Buffer.from(lines.join('\n') + '\n');
}

beforeAll(async () => {
  if (skip) return;
  rig = await startConsoleRig(storiesPath!);
  ({ server, page } = rig);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: rig.key, maxRetries: 0 });
}, 180_000);
afterAll(async () => {
  await rig?.stop();
  killNimbusProcesses();
});

describe.skipIf(skip)('the Batches page in chromium', () => {
  test('is its own chunk; a batch uploaded from the page runs every line and offers its output', async () => {
    expect(await openLazyPage(page, 'Batches', 'batches')).toEqual({ before: false, after: true });
    await page.getByText('No batches yet.').waitFor();

    await page.getByLabel('Requests (JSONL, one per line)').setInputFiles({ name: 'three.jsonl', mimeType: 'application/jsonl', buffer: jsonl(3, 8) });
    await page.getByRole('button', { name: 'Upload and start' }).click();
    const rows = page.getByTestId('batches').locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(1);
    // Without a reload: the page reads the list again while the batch moves.
    await rows.first().getByText('3 of 3 lines done').waitFor({ timeout: 60_000 });
    await rows.first().locator('.badge.completed').waitFor({ timeout: 30_000 });
    expect(await rows.first().getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    await rows.first().getByRole('button', { name: 'Output' }).waitFor();
    await screenshot(page, 'batches-01-completed');

    const [batch] = (await client.batches.list()).data;
    expect(batch).toMatchObject({ status: 'completed', request_counts: { total: 3, completed: 3, failed: 0 }, endpoint: '/v1/chat/completions' });
    const output = (await (await client.files.content(batch!.output_file_id!)).text()).trim().split('\n');
    expect(output.map((line) => (JSON.parse(line) as { custom_id: string }).custom_id).sort()).toEqual(['line-0', 'line-1', 'line-2']);
  }, 120_000);

  test('a long batch can be cancelled from the page, keeping what it finished', async () => {
    await page.getByLabel('Requests (JSONL, one per line)').setInputFiles({ name: 'long.jsonl', mimeType: 'application/jsonl', buffer: jsonl(400, 200) });
    await page.getByRole('button', { name: 'Upload and start' }).click();
    const rows = page.getByTestId('batches').locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(2);
    // Newest first.
    const long = rows.first();
    await long.getByText(/of 400 lines done/).waitFor({ timeout: 30_000 });
    await screenshot(page, 'batches-02-running');
    await long.getByRole('button', { name: /^Cancel batch_/ }).click();
    await long.locator('.badge.cancelled').waitFor({ timeout: 60_000 });
    expect(await long.getByRole('button', { name: /^Cancel/ }).count()).toBe(0);
    const text = (await long.getByTestId('batch-progress').textContent())!;
    expect(Number(/^(\d+) of 400/.exec(text)![1])).toBeLessThan(400);
    await screenshot(page, 'batches-03-cancelled');
    const [newest] = (await client.batches.list()).data;
    expect(newest).toMatchObject({ status: 'cancelled' });
  }, 120_000);
});
