/**
 * `nimbus serve` from dist/ with devices on (run `npm run build` first): the embedded broker on a
 * free port, or a broker by URL. The home may be given, so a test can restart a server on its own
 * home; tenants and keys are made through the HTTP API, as an operator would.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callJson } from './json-api.js';
import { repoRoot } from './shared-model.js';

export interface DeviceProcess {
  url: string;
  home: string;
  child: ChildProcessWithoutNullStreams;
  /** Where devices connect (`GET /v1/mqtt` at start); undefined when devices are off or a key was already needed. */
  mqttUrl: string | undefined;
  topicRoot: string | undefined;
  output(): string;
  /** SIGTERM, then waits for the exit (the home stays). */
  stop(): Promise<void>;
}

const started: ChildProcessWithoutNullStreams[] = [];

/** SIGKILLs every process started here that still runs. */
export function killDeviceProcesses(): void {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
}

/** Runs `nimbus serve ARGS` with its devices; resolves once it listens, or rejects with its output when it exits first. */
export function startDeviceProcess(args: string[], options: { home?: string; environment?: Record<string, string> } = {}): Promise<DeviceProcess> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'nimbus-device-process-'));
  const environment: Record<string, string | undefined> = { ...process.env, NIMBUS_HF_ENDPOINT: 'http://127.0.0.1:9', ...options.environment };
  delete environment.NIMBUS_MQTT_URL;
  if (options.environment?.NIMBUS_MQTT_URL) environment.NIMBUS_MQTT_URL = options.environment.NIMBUS_MQTT_URL;
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), 'serve', '--port', '0', '--home', home, '--gpu', 'cpu', ...args], {
    env: environment,
  });
  started.push(child);
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let listening = false;
    const onData = (data: Buffer): void => {
      output += data.toString();
      const match = /listening on (http:\/\/[\d.:]+)/i.exec(output);
      if (!match || listening) return;
      listening = true;
      const url = match[1]!;
      void callJson(url, 'GET', '/v1/mqtt').then(
        (answer) =>
          resolve({
            url,
            home,
            child,
            mqttUrl: answer.status === 200 ? (answer.body.url as string) : undefined,
            topicRoot: answer.status === 200 ? (answer.body.topic_root as string) : undefined,
            output: () => output,
            stop: async () => {
              if (child.exitCode === null) child.kill('SIGTERM');
              await exited;
            },
          }),
        reject,
      );
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      if (!listening) reject(new Error(`nimbus serve exited with ${code}: ${output}`));
    });
  });
}

/** Keys of a fresh server: the operator (tenant `default`) and an admin of a second tenant. */
export interface TwoTenants {
  operator: string;
  /** An admin key of tenant `tenantB`. */
  other: string;
  tenantB: string;
}

/** Ends local mode with an operator key, and makes a second tenant with an admin key of its own. */
export async function makeTwoTenants(url: string, tenantB = 'globex'): Promise<TwoTenants> {
  const operator = await callJson(url, 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true, devices: '*' } });
  if (operator.status !== 201) throw new Error(`operator key: ${JSON.stringify(operator.body)}`);
  const tenant = await callJson(url, 'POST', '/v1/tenants', { id: tenantB }, operator.body.key);
  if (tenant.status !== 201) throw new Error(`tenant: ${JSON.stringify(tenant.body)}`);
  const other = await callJson(url, 'POST', '/v1/keys', { tenant: tenantB, name: 'admin', scopes: { admin: true, devices: '*' } }, operator.body.key);
  if (other.status !== 201) throw new Error(`tenant key: ${JSON.stringify(other.body)}`);
  return { operator: operator.body.key as string, other: other.body.key as string, tenantB };
}

/** Registers a device of a sim kind's model with a key; returns its MQTT secret. */
export async function registerDevice(url: string, key: string, id: string, model: unknown): Promise<string> {
  const answer = await callJson(url, 'PUT', `/v1/devices/${id}`, { model }, key);
  if (answer.status !== 201 && answer.status !== 200) throw new Error(`register ${id}: ${JSON.stringify(answer.body)}`);
  return answer.body.secret as string;
}
