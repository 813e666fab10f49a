/**
 * `nimbus apps` (src/cli/apps.ts), run in this process against a real server on stories260K:
 * create from a YAML file, list, show, publish, versions, rollback, delete, and `apply`, which is
 * idempotent, reports drift by field, refuses a bad config with the server's reason, and deletes
 * nothing unless --prune.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { appsCommand } from '../src/cli/apps.js';
import { callJson } from './support/json-api.js';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();

describe.skipIf(skip)('nimbus apps', () => {
  let server: TestServer;
  let folder: string;
  let environment: NodeJS.ProcessEnv;
  beforeAll(async () => {
    server = await startTestServer();
    folder = mkdtempSync(join(tmpdir(), 'nimbus-apps-cli-'));
    environment = { NIMBUS_URL: server.url };
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  const file = (name: string, text: string): string => {
    const path = join(folder, name);
    writeFileSync(path, text);
    return path;
  };
  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void out.push(String(line)));
    const error = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void err.push(String(line)));
    try {
      return { code: await appsCommand(argv, environment), out: out.join('\n'), err: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }

  test('create, list, show, publish, versions, rollback and delete', async () => {
    const first = file('story.yaml', 'name: story\nmodel: stories\ninstructions: Tell a story.\ntemperature: 0\n');
    expect(await run('create', first)).toMatchObject({ code: 0, out: 'created app story (app:story, version 1)' });
    expect((await run('list')).out).toMatch(/^story +1 +1 +stories/m);
    expect((await run('show', 'story')).out).toContain('instructions: Tell a story.');
    const second = file('story2.json', JSON.stringify({ name: 'story', model: 'stories', instructions: 'Tell a short story.' }));
    expect((await run('publish', 'story', second)).out).toBe('published story version 2 (live)');
    expect((await run('versions', 'story')).out).toMatch(/^2 +live/m);
    expect((await run('rollback', 'story', '1')).out).toBe('story: version 1 is live');
    expect((await callJson(server.url, 'GET', '/v1/apps/story')).body.config.instructions).toBe('Tell a story.');
    expect((await run('delete', 'story')).out).toContain('deleted app story');
    expect(await run('show', 'story')).toMatchObject({ code: 1, err: expect.stringContaining("No app 'story'") });
  });

  test('apply creates, then is idempotent, publishes only what drifted (naming the fields), and prunes only when asked', async () => {
    const apps = file(
      'apps.yaml',
      [
        'apps:',
        '  - name: alpha',
        '    model: stories',
        '    instructions: One.',
        '    limits: { requests_per_minute: 10 }',
        '  - name: beta',
        '    model: [stories]',
        '    temperature: 0.5',
      ].join('\n'),
    );
    expect((await run('apply', apps)).out).toBe('alpha: created (version 1)\nbeta: created (version 1)');
    expect((await run('apply', apps)).out).toBe('alpha: unchanged\nbeta: unchanged');
    // Drift made by hand on the server: apply puts the file's config back as a new version.
    await callJson(server.url, 'POST', '/v1/apps/beta/versions', { model: ['stories'], temperature: 1, instructions: 'Hand-made.' });
    expect((await run('apply', '--dry-run', apps)).out).toBe('alpha: unchanged\nbeta: drift in instructions, temperature: would be published');
    expect((await run('apply', apps)).out).toBe('alpha: unchanged\nbeta: drift in instructions, temperature: published as version 3');
    expect((await callJson(server.url, 'GET', '/v1/apps/beta')).body).toMatchObject({ live_version: 3, config: { temperature: 0.5 } });
    // An app the file does not name is kept, and listed; --prune deletes it.
    const onlyAlpha = file('alpha.json', JSON.stringify({ name: 'alpha', model: 'stories', instructions: 'One.', limits: { requests_per_minute: 10 } }));
    expect((await run('apply', onlyAlpha)).out).toBe('alpha: unchanged\nbeta: not in the file: kept (--prune deletes it)');
    expect((await callJson(server.url, 'GET', '/v1/apps/beta')).status).toBe(200);
    expect((await run('apply', '--prune', onlyAlpha)).out).toBe('alpha: unchanged\nbeta: not in the file: deleted');
    expect((await callJson(server.url, 'GET', '/v1/apps/beta')).status).toBe(404);
  });

  test('a bad config fails with the server’s reason naming the field; a file without names is refused before any call', async () => {
    const bad = file('bad.yaml', 'name: gamma\nmodel: no-such-model\n');
    const failed = await run('apply', bad);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain("model: the model 'no-such-model' is not served here");
    expect(await run('apply', file('nameless.yaml', 'model: stories\n'))).toMatchObject({ code: 1, err: expect.stringContaining("has no 'name'") });
  });
});
