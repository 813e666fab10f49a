/**
 * The console's alerts indicator in a real browser (Debian's chromium via playwright-core) against a
 * real `nimbus serve` process with devices on (heartbeat 300 ms, so the leader evaluates often):
 * the emergency stop engaged through the API turns the indicator's count to 1 without a reload;
 * the indicator opens the Alerts page (its own chunk), whose row links to the Devices page;
 * cleared, the count goes back to 0. Screenshots go to test-results/console/. Run `npm run build` first.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium, openLazyPage, screenshot, signedInPage, skipWithoutChromium } from './support/browser.js';
import { killDeviceProcesses, startDeviceProcess, type DeviceProcess } from './support/device-process.js';
import { callJson } from './support/json-api.js';

const skip = skipWithoutChromium();
let server: DeviceProcess;
let browser: Browser;
let page: Page;
let key: string;

beforeAll(async () => {
  if (skip) return;
  server = await startDeviceProcess(['--mqtt-port', '0'], { environment: { NIMBUS_POOL_HEARTBEAT_MS: '300' } });
  const created = await callJson(server.url, 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true, devices: '*' } });
  expect(created.status).toBe(201);
  key = created.body.key as string;
  browser = await launchChromium();
  page = await signedInPage(browser, server.url, key);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  killDeviceProcesses();
});

describe.skipIf(skip)('the alerts indicator in chromium', () => {
  test('counts what fires, live; opens the Alerts page; each alert links to its page', async () => {
    const indicator = page.getByTestId('alerts-indicator');
    await expect.poll(() => indicator.locator('.count').textContent()).toBe('0');
    expect(await indicator.getAttribute('class')).toBe('alerts');

    expect((await callJson(server.url, 'POST', '/v1/estop', { reason: 'smoke in the lab' }, key)).status).toBe(200);
    await expect.poll(() => indicator.locator('.count').textContent(), { timeout: 15_000 }).toBe('1');
    expect(await indicator.getAttribute('class')).toBe('alerts firing');
    await screenshot(page, 'alerts-01-indicator');

    expect(await openLazyPage(page, 'Alerts', 'alerts', () => indicator.click())).toEqual({ before: false, after: true });
    const row = page.getByTestId('alert-row');
    await row.first().waitFor();
    expect(await row.count()).toBe(1);
    const link = row.first().getByRole('link');
    expect(await link.textContent()).toContain('The emergency stop of tenant default is engaged');
    expect(await link.getAttribute('href')).toBe('/devices');
    await screenshot(page, 'alerts-02-page');
    await link.click();
    await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/devices');

    expect((await callJson(server.url, 'DELETE', '/v1/estop', undefined, key)).status).toBe(200);
    await expect.poll(() => indicator.locator('.count').textContent(), { timeout: 15_000 }).toBe('0');
    await screenshot(page, 'alerts-03-cleared');
  }, 90_000);
});
