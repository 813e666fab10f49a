/**
 * The operators' views of issue 28 in Debian's chromium against a real `nimbus serve` process
 * (dist/, stories260K, SQLite): the request log (filters, older pages by cursor, a request's
 * detail, the live tail picking up a request made while it is open) and, on the Usage page, cost
 * over time per hour and per day with the day budget drawn and the tenant's own limits, and the
 * operator choosing a tenant to see its budget. Each view saves a screenshot to
 * test-results/console/ (ops-*.png). Run `npm run build` first.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium, screenshot, skipWithoutChromium } from './support/browser.js';
import { callJson, type JsonAnswer } from './support/json-api.js';
import { killNimbusProcesses, startNimbusProcess, waitReady, type NimbusProcess } from './support/nimbus-process.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel() || skipWithoutChromium();
let server: NimbusProcess;
let browser: Browser;
let operator = '';
const keys: Record<string, { id: string; key: string; prefix: string }> = {};

const api = (method: string, path: string, body?: unknown, key = operator): Promise<JsonAnswer> => callJson(server.url, method, path, body, key);
const complete = (key: string, maxTokens = 4): Promise<JsonAnswer> =>
  api('POST', '/v1/completions', { model: 'stories260K', prompt: 'Once upon a time', max_tokens: maxTokens, temperature: 0 }, key);

/** A signed-in tab on `path`. */
async function signedIn(key: string, path: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
  await page.goto(server.url);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: path }).click();
  await page.getByRole('heading', { level: 1, name: path }).waitFor();
  return page;
}

beforeAll(async () => {
  if (skip) return;
  const folder = mkdtempSync(join(tmpdir(), 'nimbus-ops-views-'));
  const config = join(folder, 'nimbus.json');
  writeFileSync(config, JSON.stringify({ prices: { stories260K: { input: 0, output: 1 } } }));
  server = await startNimbusProcess(['--model', storiesPath!, '--threads', '1', '--ctx', '512', '--slots', '2'], { NIMBUS_CONFIG: config });
  await waitReady(server.url);
  operator = (await api('POST', '/v1/keys', { name: 'operator', scopes: { admin: true, inference: true } }, '')).body.key;
  await api('POST', '/v1/tenants', { id: 'acme', limits: { cost_per_day_usd: 0.0001 } });
  const create = async (body: Record<string, unknown>) => (await api('POST', '/v1/keys', body)).body as { id: string; key: string; prefix: string };
  keys.acmeAdmin = await create({ tenant: 'acme', name: 'acme admin', scopes: { admin: true, inference: true } });
  keys.acmeCi = await create({ tenant: 'acme', name: 'ci', limits: { tokens_per_day: 100_000 } });
  for (let index = 0; index < 8; index += 1) expect((await complete(keys.acmeCi.key)).status).toBe(200);
  for (let index = 0; index < 3; index += 1) expect((await complete(keys.acmeAdmin.key, 6)).status).toBe(200);
  for (let index = 0; index < 2; index += 1) await complete(operator);
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  killNimbusProcesses();
});

describe.skipIf(skip)('the operators’ views in chromium', () => {
  test('the request log: rows newest first, filters, older pages, a detail, the live tail', async () => {
    const page = await signedIn(operator, 'Request log');
    const rows = page.getByTestId('request-rows').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(13);
    await screenshot(page, 'ops-request-log');

    await page.getByLabel('Tenant').fill('acme');
    await page.getByLabel('Key id').fill(keys.acmeCi!.id);
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => rows.count()).toBe(8);
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('Request id or key prefix').fill(keys.acmeAdmin!.prefix);
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => rows.count()).toBe(3);
    await screenshot(page, 'ops-request-log-filtered');

    // The detail of the newest of them.
    await rows.first().getByRole('button').click();
    const detail = page.getByTestId('request-detail');
    await detail.getByText('Served by').waitFor();
    const shown = await detail.textContent();
    for (const text of ['acme', keys.acmeAdmin!.id, 'stories260K', 'HTTP 200', '+ 6 out', '$0.000006', 'Time to first token']) expect(shown).toContain(text);
    await screenshot(page, 'ops-request-detail');
    await detail.getByRole('button', { name: 'Close' }).click();

    // The live tail: a request made now appears without a reload.
    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => rows.count()).toBe(13);
    await page.getByLabel('Live tail').check();
    expect((await complete(keys.acmeCi!.key)).status).toBe(200);
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(14);
    await page.close();
  });

  test('older pages load by cursor, 50 at a time', async () => {
    for (let index = 0; index < 40; index += 1) await complete(keys.acmeCi!.key, 1);
    const page = await signedIn(operator, 'Request log');
    const rows = page.getByTestId('request-rows').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(50);
    await page.getByRole('button', { name: 'Load older requests' }).click();
    await expect.poll(() => rows.count()).toBe(54);
    await expect.poll(() => page.getByRole('button', { name: 'Load older requests' }).count()).toBe(0);
    const ids = await page.getByTestId('request-rows').locator('tbody tr td:nth-child(2)').allTextContents();
    expect(new Set(ids).size).toBe(54);
    await page.close();
  });

  test("a tenant's admin: cost over time per hour and per day with the day budget drawn, and its limits", async () => {
    const page = await signedIn(keys.acmeAdmin!.key, 'Usage');
    const chart = page.getByTestId('usage-over-time');
    await chart.getByTestId('budget-line').waitFor({ state: 'attached' });
    expect(await chart.getByTestId('budget-legend').textContent()).toContain('day budget $0.000100');
    await expect.poll(() => chart.textContent()).toMatch(/stories260K \$0\.0000[0-9]+/);
    await screenshot(page, 'ops-usage-hourly');
    await chart.getByLabel('Per', { exact: true }).selectOption('day');
    await chart.getByLabel('Split by', { exact: true }).selectOption('key');
    await expect.poll(() => chart.textContent()).toContain(keys.acmeCi!.id);
    await chart.getByTestId('budget-line').waitFor({ state: 'attached' });
    await screenshot(page, 'ops-usage-daily-by-key');
    // Its own limits, as /v1/me/limits reads them: the tenant's cost per day, used and left.
    const limits = page.getByTestId('my-limits');
    const standing = (await api('GET', '/v1/me/limits', undefined, keys.acmeAdmin!.key)).body.data[0];
    expect(standing).toMatchObject({ scope: 'tenant', name: 'cost_per_day_usd' });
    await expect.poll(() => limits.textContent()).toContain(`$${standing.remaining.toFixed(6)}`);
    await screenshot(page, 'ops-usage-limits');
    await page.close();
  });

  test("the operator choosing a tenant sees that tenant's day budget drawn, read as its admission reads it", async () => {
    const page = await signedIn(operator, 'Usage');
    const chart = page.getByTestId('usage-over-time');
    // Every tenant at once: no one budget caps that sum.
    await expect.poll(() => chart.textContent()).toContain('Choose a tenant to draw its day budget.');
    expect(await chart.getByTestId('budget-line').count()).toBe(0);
    await page.getByLabel('Tenant', { exact: true }).selectOption('acme');
    await chart.getByTestId('budget-line').waitFor({ state: 'attached' });
    expect(await chart.getByTestId('budget-legend').textContent()).toContain('day budget of tenant acme $0.000100');
    const standing = (await api('GET', '/v1/tenants/acme/limits')).body.data[0];
    expect(standing).toMatchObject({ scope: 'tenant', owner: 'acme', name: 'cost_per_day_usd', limit: 0.0001 });
    // Only acme's spend: its keys, never the operator's own.
    await chart.getByLabel('Split by', { exact: true }).selectOption('key');
    await expect.poll(() => chart.textContent()).toContain(keys.acmeCi!.id);
    const operatorKey = ((await api('GET', '/v1/keys')).body.data as Array<{ id: string; name: string }>).find((key) => key.name === 'operator')!;
    expect(await chart.textContent()).not.toContain(operatorKey.id);
    await screenshot(page, 'ops-usage-operator-tenant');
    await page.close();
  });
});
