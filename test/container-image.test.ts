/**
 * The image itself (opt-in: NIMBUS_IMAGE_TEST=1, as root; minutes the first time, for debootstrap):
 * deploy/container/build-rootfs.sh builds the layers, buildah builds the Containerfile where it is
 * installed, and the image's own entry point, command, environment and user run in a chroot of
 * its file system (tini as PID 1 in a PID namespace) against PostgreSQL and Redis: /healthz,
 * /readyz and the image's HEALTHCHECK command pass. Podman cannot run containers on this machine
 * (docs/decisions/0013-kubernetes.md says why), so the chroot stands in for the runtime.
 * Without buildah the chroot runs the unpacked layers (.nimbus-image/cpu/rootfs) instead.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, copyFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { createTestDatabase, redisUrl } from './support/services.js';
import { repoRoot, storiesPath } from './support/shared-model.js';

const enabled = process.env.NIMBUS_IMAGE_TEST === '1';
const hasBuildah = spawnSync('sh', ['-c', 'command -v buildah']).status === 0;
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
});

/** The image's configuration, as buildah inspect reports it (Docker format keeps HEALTHCHECK). */
interface ImageConfig {
  User: string;
  Env: string[];
  Entrypoint: string[];
  Cmd: string[];
  WorkingDir: string;
  Healthcheck?: { Test: string[] };
}

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

test.skipIf(!enabled)(
  'the image builds, and its entry point serves and passes /healthz, /readyz and its HEALTHCHECK',
  async () => {
    if (!storiesPath) throw new Error('stories260K.gguf is needed (NIMBUS_TEST_MODEL)');
    execFileSync(join(repoRoot, 'deploy', 'container', 'build-rootfs.sh'), ['--no-build', '--flavor', 'cpu'], { stdio: 'inherit' });
    const context = join(repoRoot, '.nimbus-image', 'cpu', 'context');
    let root = join(repoRoot, '.nimbus-image', 'cpu', 'rootfs');
    let config: ImageConfig = {
      User: '10001:10001',
      Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NIMBUS_APP_DIR=/opt/nimbus', 'NIMBUS_HOME=/var/lib/nimbus', 'NIMBUS_HOST=0.0.0.0'],
      Entrypoint: ['/usr/bin/tini', '--', '/usr/local/bin/nimbus-entrypoint'],
      Cmd: ['serve'],
      WorkingDir: '/var/lib/nimbus',
      Healthcheck: { Test: ['CMD', '/usr/local/bin/nimbus-healthcheck'] },
    };
    if (hasBuildah) {
      execFileSync('buildah', ['bud', '--format', 'docker', '--build-arg', 'FLAVOR=cpu', '-f', 'Containerfile', '-t', 'nimbus-test:cpu', '.'], {
        cwd: context,
        stdio: 'inherit',
      });
      const inspected = JSON.parse(execFileSync('buildah', ['inspect', '--type', 'image', 'nimbus-test:cpu'], { encoding: 'utf8' })) as {
        Docker: { config: ImageConfig };
      };
      config = inspected.Docker.config;
      const container = execFileSync('buildah', ['from', 'nimbus-test:cpu'], { encoding: 'utf8' }).trim();
      cleanups.push(() => spawnSync('buildah', ['rm', container]));
      root = execFileSync('buildah', ['mount', container], { encoding: 'utf8' }).trim();
      cleanups.push(() => spawnSync('buildah', ['umount', container]));
    }
    expect(config.User).toBe('10001:10001');
    expect(config.Entrypoint[0]).toBe('/usr/bin/tini');
    expect(config.Healthcheck?.Test).toEqual(['CMD', '/usr/local/bin/nimbus-healthcheck']);

    const [uid, gid] = config.User.split(':').map(Number) as [number, number];
    mkdirSync(join(root, 'var/lib/nimbus/models'), { recursive: true });
    copyFileSync(storiesPath, join(root, 'var/lib/nimbus/models/stories260K.gguf'));
    chownSync(join(root, 'var/lib/nimbus/models'), uid, gid);
    const database = await createTestDatabase();
    cleanups.push(() => void database.drop());
    const port = await freePort();
    const environment = [
      ...config.Env,
      'NIMBUS_HOST=127.0.0.1',
      `NIMBUS_PORT=${port}`,
      `NIMBUS_DATABASE_URL=${database.url}`,
      `NIMBUS_REDIS_URL=${redisUrl}`,
      'NIMBUS_MQTT_URL=off',
      'NIMBUS_MODELS=/var/lib/nimbus/models/stories260K.gguf',
      'NIMBUS_THREADS=1',
      'NIMBUS_GPU=cpu',
    ];
    // What a container runtime provides around the image: its own PID namespace (tini is PID 1),
    // /proc, and /dev (the image has no device nodes; runtimes mount them).
    const inRoot = (command: string[]): string[] => [
      '--mount',
      '--pid',
      '--fork',
      // unshare does not forward signals: its SIGTERM reaches tini through the parent-death signal.
      '--kill-child=SIGTERM',
      `--mount-proc=${join(root, 'proc')}`,
      'sh',
      '-c',
      'mount --rbind /dev "$0/dev" && exec "$@"',
      root,
      'chroot',
      `--userspec=${config.User}`,
      root,
      '/usr/bin/env',
      '-i',
      ...environment,
      ...command,
    ];
    const child = spawn('unshare', inRoot([...config.Entrypoint, ...config.Cmd]));
    cleanups.push(() => child.kill('SIGKILL'));
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    const url = `http://127.0.0.1:${port}`;
    for (const path of ['/healthz', '/readyz']) {
      let status = 0;
      for (let attempt = 0; attempt < 600 && status !== 200; attempt += 1) {
        status = await fetch(`${url}${path}`).then(
          (response) => response.status,
          () => 0,
        );
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(status, `${path}; output:\n${output}`).toBe(200);
    }
    const healthcheck = spawnSync('unshare', inRoot(config.Healthcheck!.Test.slice(1)), { encoding: 'utf8' });
    expect(healthcheck.status, healthcheck.stderr).toBe(0);
    expect(output).toContain(`Nimbus listening on ${url}`);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  },
  30 * 60_000,
);
