/** `nimbus devices`: devices, twins, history and commands through the HTTP API, like kubectl. */
import { readFileSync } from 'node:fs';
import { commandArgs } from './command-args.js';
import { adminClient, CommandError } from './admin-client.js';
import { formatMs, parseValue, printAction, reportError, type ActionView } from './device-output.js';
import { renderTable } from './render-table.js';

export const devicesUsage = `Usage: nimbus devices [ls] [--json]
       nimbus devices show ID                       the device: thing model, risk, twin
       nimbus devices twin ID                       desired and reported state, version, delta
       nimbus devices history ID [--limit N]        twin changes and events, newest first
       nimbus devices commands ID [--state STATE] [--limit N]
       nimbus devices register ID --model FILE [--rotate-secret]
       nimbus devices rm ID
       nimbus devices set ID PROPERTY VALUE [--approval ID] [--no-wait]
       nimbus devices invoke ID ACTION [INPUT] [--approval ID] [--no-wait]

VALUE and INPUT are JSON (42, true, {"seconds": 5}) or a plain string. 'register' prints the
device's MQTT secret once: the device logs in as TENANT/ID with it. set and invoke exit 0 when
the device acknowledged, 3 when a human approval is needed, 1 otherwise.

Talks to the server at NIMBUS_URL (default http://127.0.0.1:8080) with NIMBUS_API_KEY (not
needed in local mode).`;

interface DeviceView {
  id: string;
  title: string;
  kind: string | null;
  risk: string;
  connection: string;
  twin: { version: number; reported: Record<string, unknown> };
}

/** Runs `nimbus devices`; returns the exit code (0 done, 1 failed, 2 bad usage, 3 approval needed). */
export async function devicesCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  const parsed = commandArgs(
    argv,
    {
      json: { type: 'boolean' },
      model: { type: 'string' },
      'rotate-secret': { type: 'boolean' },
      approval: { type: 'string' },
      'no-wait': { type: 'boolean' },
      state: { type: 'string' },
      limit: { type: 'string' },
    },
    devicesUsage,
    usageError,
  );
  if (typeof parsed === 'number') return parsed;
  const flags = parsed.values;
  const [action = 'ls', id, name, value] = parsed.positionals;
  const client = adminClient(environment);
  const device = (): string => {
    if (!id) throw new CommandError("missing ID, the device ('nimbus devices' lists them)");
    return `/v1/devices/${encodeURIComponent(id)}`;
  };
  const query = (fields: Record<string, string | undefined>): string => {
    const search = new URLSearchParams(Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined));
    return search.size > 0 ? `?${search}` : '';
  };
  const options = { ...(flags.approval ? { approval: flags.approval } : {}), ...(flags['no-wait'] ? { wait: false } : {}) };
  try {
    switch (action) {
      case 'ls':
      case 'list': {
        const list = await client.json<{ data: DeviceView[] }>('GET', '/v1/devices');
        console.log(flags.json ? JSON.stringify(list.data, null, 2) : render(list.data));
        return 0;
      }
      case 'show':
      case 'get':
        console.log(JSON.stringify(await client.json('GET', device()), null, 2));
        return 0;
      case 'twin':
        console.log(JSON.stringify(await client.json('GET', `${device()}/twin`), null, 2));
        return 0;
      case 'history': {
        const list = await client.json<{ data: Array<{ at: number; version: number; kind: string; data: unknown }> }>(
          'GET',
          `${device()}/history${query({ limit: flags.limit })}`,
        );
        console.log(
          renderTable([
            ['AT (UTC)', 'VERSION', 'KIND', 'DATA'],
            ...list.data.map((entry) => [formatMs(entry.at), String(entry.version), entry.kind, JSON.stringify(entry.data)]),
          ]),
        );
        return 0;
      }
      case 'commands': {
        const list = await client.json<{
          data: Array<{ id: string; created_at: number; kind: string; name: string; input: unknown; state: string; error: string | null }>;
        }>('GET', `${device()}/commands${query({ state: flags.state, limit: flags.limit })}`);
        console.log(
          renderTable([
            ['ID', 'CREATED (UTC)', 'COMMAND', 'INPUT', 'STATE'],
            ...list.data.map((command) => [
              command.id,
              formatMs(command.created_at),
              `${command.kind} ${command.name}`,
              JSON.stringify(command.input),
              command.error ? `${command.state}: ${command.error}` : command.state,
            ]),
          ]),
        );
        return 0;
      }
      case 'register': {
        if (!flags.model) return usageError('missing --model FILE, the thing model (JSON)');
        const model = JSON.parse(readFileSync(flags.model, 'utf8')) as unknown;
        const registered = await client.json<DeviceView & { secret?: string; mqtt_username?: string }>('PUT', device(), {
          model,
          ...(flags['rotate-secret'] ? { rotate_secret: true } : {}),
        });
        console.error(`registered ${registered.id} (${registered.title}, risk ${registered.risk})`);
        if (registered.secret) {
          console.error(`MQTT login: username ${registered.mqtt_username}, password on stdout (shown this once):`);
          console.log(registered.secret);
        }
        return 0;
      }
      case 'rm':
      case 'remove':
        await client.json('DELETE', device());
        console.log(`removed ${id}`);
        return 0;
      case 'set':
        if (!name || value === undefined) return usageError('usage: nimbus devices set ID PROPERTY VALUE');
        return printAction(
          await client.json<ActionView>('PUT', `${device()}/properties/${encodeURIComponent(name)}`, { value: parseValue(value), ...options }),
        );
      case 'invoke':
        if (!name) return usageError('usage: nimbus devices invoke ID ACTION [INPUT]');
        return printAction(
          await client.json<ActionView>('POST', `${device()}/actions/${encodeURIComponent(name)}`, {
            ...(value !== undefined ? { input: parseValue(value) } : {}),
            ...options,
          }),
        );
      default:
        return usageError(`unknown action '${action}'; use ls, show, twin, history, commands, register, rm, set or invoke`);
    }
  } catch (error) {
    if (error instanceof SyntaxError) return usageError(`--model is not valid JSON: ${error.message}`);
    return reportError(error);
  }
}

function render(devices: DeviceView[]): string {
  if (devices.length === 0) return "No devices in this key's scope. Register one with 'nimbus devices register ID --model FILE', or run 'nimbus sim'.";
  return renderTable([
    ['ID', 'TITLE', 'RISK', 'CONNECTION', 'VERSION', 'REPORTED'],
    ...devices.map((device) => [device.id, device.title, device.risk, device.connection, String(device.twin.version), JSON.stringify(device.twin.reported)]),
  ]);
}

function usageError(message: string): number {
  console.error(`error: ${message}. 'nimbus devices --help' shows the usage.`);
  return 2;
}
