/**
 * The apps section of the Store contract test: registered from `runStoreContract`, so it runs on
 * every Store implementation (SQLite and PostgreSQL).
 */
import { describe, expect, test } from 'vitest';
import type { AppConfig } from '../core/app-config.js';
import type { Store } from '../core/store.js';
import { requestLogEntry } from './store-contract.js';

const config = (instructions: string): AppConfig => ({
  model: ['big', 'small'],
  instructions,
  vector_store_ids: ['vs_1'],
  tools: [{ type: 'function', name: 'move', parameters: { type: 'object', properties: { to: { type: 'string' } } } }],
  temperature: 0.2,
  limits: { requests_per_minute: 5 },
  memory: true,
});

export function runAppStoreContract(open: () => Promise<Store>): void {
  describe('apps', () => {
    test('an app is made with version 1 live, reads back exactly, for its tenant only; a name is taken once per tenant', async () => {
      const store = await open();
      expect(await store.apps.createApp('acme', 'tutor', config('Teach.'), 1_000)).toBe(true);
      expect(await store.apps.createApp('acme', 'tutor', config('Again.'), 2_000)).toBe(false);
      expect(await store.apps.createApp('other', 'tutor', config('Theirs.'), 2_000)).toBe(true);
      await store.apps.createApp('acme', 'game', { model: 'm' }, 3_000);
      expect(await store.apps.getApp('acme', 'tutor')).toEqual({
        tenantId: 'acme',
        name: 'tutor',
        liveVersion: 1,
        latestVersion: 1,
        createdAt: 1_000,
        updatedAt: 1_000,
        config: config('Teach.'),
      });
      expect(await store.apps.getApp('acme', 'nobody')).toBeUndefined();
      expect((await store.apps.listApps('acme')).map((app) => app.name)).toEqual(['game', 'tutor']);
      expect((await store.apps.getApp('other', 'tutor'))?.config.instructions).toBe('Theirs.');
      await store.close();
    });

    test('publishing writes the next version and makes it live; a rollback makes an old one live; versions never change', async () => {
      const store = await open();
      await store.apps.createApp('acme', 'tutor', config('v1'), 1_000);
      expect(await store.apps.publish('acme', 'tutor', config('v2'), 2_000)).toMatchObject({ version: 2, config: config('v2') });
      expect(await store.apps.publish('acme', 'nobody', config('v2'), 2_000)).toBeUndefined();
      expect(await store.apps.getApp('acme', 'tutor')).toMatchObject({ liveVersion: 2, latestVersion: 2, updatedAt: 2_000, config: config('v2') });
      expect(await store.apps.setLive('acme', 'tutor', 1, 3_000)).toBe(true);
      expect(await store.apps.setLive('acme', 'tutor', 9, 3_000)).toBe(false);
      expect(await store.apps.setLive('other', 'tutor', 1, 3_000)).toBe(false);
      expect(await store.apps.getApp('acme', 'tutor')).toMatchObject({ liveVersion: 1, latestVersion: 2, config: config('v1') });
      // After a rollback the next publish still takes a new number.
      expect(await store.apps.publish('acme', 'tutor', config('v3'), 4_000)).toMatchObject({ version: 3 });
      const versions = await store.apps.listVersions('acme', 'tutor');
      expect(versions?.map((version) => [version.version, version.config.instructions, version.createdAt])).toEqual([
        [1, 'v1', 1_000],
        [2, 'v2', 2_000],
        [3, 'v3', 4_000],
      ]);
      expect(await store.apps.listVersions('other', 'tutor')).toBeUndefined();
      await store.close();
    });

    test('two publishes at once get two numbers or one fails: never one number twice', async () => {
      const store = await open();
      await store.apps.createApp('acme', 'tutor', config('v1'), 1_000);
      const results = await Promise.allSettled([
        store.apps.publish('acme', 'tutor', config('a'), 2_000),
        store.apps.publish('acme', 'tutor', config('b'), 2_000),
      ]);
      const versions = (await store.apps.listVersions('acme', 'tutor'))!.map((version) => version.version);
      expect(new Set(versions).size).toBe(versions.length);
      expect(versions.length).toBe(1 + results.filter((result) => result.status === 'fulfilled').length);
      await store.close();
    });

    test('memory per end user is written, replaced, read and forgotten; deleting an app takes its versions and memory', async () => {
      const store = await open();
      await store.apps.createApp('acme', 'tutor', config('v1'), 1_000);
      expect(await store.apps.getMemory('acme', 'tutor', 'ada')).toBeUndefined();
      await store.apps.putMemory({ tenantId: 'acme', app: 'tutor', user: 'ada', turns: [{ user: 'hi', assistant: 'hello' }], updatedAt: 5 });
      await store.apps.putMemory({
        tenantId: 'acme',
        app: 'tutor',
        user: 'ada',
        turns: [
          { user: 'hi', assistant: 'hello' },
          { user: 'fractions?', assistant: 'a part of a whole' },
        ],
        updatedAt: 6,
      });
      await store.apps.putMemory({ tenantId: 'acme', app: 'tutor', user: 'bob', turns: [], updatedAt: 7 });
      expect(await store.apps.getMemory('acme', 'tutor', 'ada')).toEqual({
        tenantId: 'acme',
        app: 'tutor',
        user: 'ada',
        turns: [
          { user: 'hi', assistant: 'hello' },
          { user: 'fractions?', assistant: 'a part of a whole' },
        ],
        updatedAt: 6,
      });
      expect(await store.apps.getMemory('other', 'tutor', 'ada')).toBeUndefined();
      expect(await store.apps.deleteMemory('acme', 'tutor', 'bob')).toBe(true);
      expect(await store.apps.deleteMemory('acme', 'tutor', 'bob')).toBe(false);
      expect(await store.apps.deleteApp('acme', 'tutor')).toBe(true);
      expect(await store.apps.deleteApp('acme', 'tutor')).toBe(false);
      expect(await store.apps.getMemory('acme', 'tutor', 'ada')).toBeUndefined();
      // The name is free again, and starts at version 1.
      expect(await store.apps.createApp('acme', 'tutor', config('new'), 9_000)).toBe(true);
      expect((await store.apps.listVersions('acme', 'tutor'))?.map((version) => version.version)).toEqual([1]);
      await store.close();
    });

    test('usage groups by app and version and filters by app, from the rows and from the hourly rollups alike (an app budget is seeded from it)', async () => {
      const store = await open();
      const hour = 3_600_000;
      const base = Date.UTC(2025, 0, 1);
      const rows = [
        { appId: 'tutor', appVersion: '1', createdAt: base + 10 },
        { appId: 'tutor', appVersion: '2', createdAt: base + hour + 10 },
        { appId: 'tutor', appVersion: '2', createdAt: base + 2 * hour + 10 },
        { appId: 'game', appVersion: '1', createdAt: base + 20 },
        { appId: null, appVersion: null, createdAt: base + 30 },
      ];
      for (const [index, row] of rows.entries())
        store.recordRequest(requestLogEntry({ id: `app-${index}`, tenantId: 'acme', promptTokens: 3, completionTokens: 4, ...row }));
      await store.flush();
      // Whole hours come from the rollups, the partial last hour from the rows.
      const range = { since: base, until: base + 2 * hour + 20, tenantId: 'acme' };
      const grouped = await store.tenancy.usage({ ...range, groupBy: ['app', 'app_version'] });
      expect(grouped.map((row) => [row.app, row.appVersion, row.requests])).toEqual([
        [null, null, 1],
        ['game', '1', 1],
        ['tutor', '1', 1],
        ['tutor', '2', 2],
      ]);
      const tutor = await store.tenancy.usage({ ...range, appId: 'tutor', groupBy: [] });
      expect(tutor).toEqual([expect.objectContaining({ requests: 3, promptTokens: 9, completionTokens: 12 })]);
      await store.close();
    });
  });
}
