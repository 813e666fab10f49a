/**
 * Debian's chromium, driven by playwright-core (never a browser download). Where /usr/bin/chromium
 * is absent the browser tests say so and skip, except under CI=true, where it is a failure
 * (.ci/run installs it).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { callJson } from './json-api.js';
import { startNimbusProcess, waitReady, type NimbusProcess } from './nimbus-process.js';
import { repoRoot } from './shared-model.js';

export const chromiumPath = process.env.NIMBUS_CHROMIUM ?? '/usr/bin/chromium';

/** Where the browser tests save their screenshots (gitignored). */
export const screenshotDir = join(repoRoot, 'test-results', 'console');

/** True when browser tests must be skipped; throws under CI=true. */
export function skipWithoutChromium(): boolean {
  if (existsSync(chromiumPath)) return false;
  const message = `chromium not found at ${chromiumPath} (apt-get install -y chromium): the console's browser tests are skipped.`;
  if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure.`);
  console.warn(message);
  return true;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--headless', '--disable-background-networking'] });
}

/** Saves a screenshot of the page as test-results/console/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Signs `page` in to the console at `url` with `key` and waits for the overview. */
export async function signIn(page: Page, url: string, key: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
}

/** A page of a new laptop-sized context (1366x900), signed in to the console at `url` with `key`. */
export async function signedInPage(browser: Browser, url: string, key: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
  await signIn(page, url, key);
  return page;
}

/** A `nimbus serve` process with stories260K, an admin key, and chromium signed in to its console. */
export interface ConsoleRig {
  server: NimbusProcess;
  key: string;
  browser: Browser;
  page: Page;
  stop(): Promise<void>;
}

/** Starts a real server on the shared stories260K model (the caller skips without it) and signs a laptop-sized page in. */
export async function startConsoleRig(modelPath: string): Promise<ConsoleRig> {
  const server = await startNimbusProcess(['--model', modelPath, '--threads', '1', '--ctx', '512']);
  await waitReady(server.url);
  const created = await callJson(server.url, 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true } });
  if (created.status !== 201) throw new Error(`creating the operator key answered ${created.status}`);
  const key = created.body.key as string;
  const browser = await launchChromium();
  const page = await signedInPage(browser, server.url, key);
  return {
    server,
    key,
    browser,
    page,
    async stop() {
      await browser.close();
      await server.stop();
    },
  };
}

/**
 * Opens a lazily loaded page from the navigation and says whether its chunk (`/assets/CHUNK-*.js`)
 * was fetched before the click and after it: the console's initial-JS budget holds only while each
 * such page stays out of the entry file.
 */
export async function openLazyPage(
  page: Page,
  link: string,
  chunk: string,
  // How the page is opened: its link in the navigation, unless it is reached another way (the alerts indicator).
  open: () => Promise<void> = () => page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: link }).click(),
): Promise<{ before: boolean; after: boolean }> {
  const pattern = new RegExp(`/assets/${chunk}-[^/]+\\.js$`);
  const fetched = async (): Promise<boolean> =>
    (await page.evaluate(() => performance.getEntriesByType('resource').map((entry) => entry.name))).some((name) => pattern.test(name));
  const before = await fetched();
  await open();
  await page.getByRole('heading', { level: 1, name: link }).waitFor();
  return { before, after: await fetched() };
}
