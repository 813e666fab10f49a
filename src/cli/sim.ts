/**
 * `nimbus sim`: virtual devices (lamp, thermostat, door lock, conveyor belt, robot arm, and with
 * `--vehicle` a car with its own console) that speak the Nimbus protocol, for demos and tests.
 * Registers them with the server (admin API), connects them to its MQTT broker, prints each
 * command they get, and stops them on Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { defaultSimKinds, isSimKind, simCatalog, type SimKind } from '../devices/sim/sim-catalog.js';
import { VirtualDevice, type AnswerMode } from '../devices/sim/virtual-device.js';
import { adminClient, CommandError } from './admin-client.js';
import { reportError } from './device-output.js';
import { startVehicleConsole, vehicleConsoleHelp, type VehicleConsole } from './vehicle-console.js';

export const simUsage = `Usage: nimbus sim [--devices lamp,thermostat,lock,conveyor,robot] [--count N] [--prefix NAME]
                 [--mqtt URL] [--protocol auto|4|5] [--answers ack|never|reject|fail]
       nimbus sim --vehicle [--prefix NAME]

Registers virtual devices named PREFIX-KIND-N (default prefix 'sim', one of each kind) with the
server at NIMBUS_URL (an admin key in NIMBUS_API_KEY, not needed in local mode), connects them to
its MQTT broker (or --mqtt URL), and runs until Ctrl-C. --answers never makes them ignore
commands (to see timeouts).

--vehicle runs a car instead (PREFIX-vehicle-1): climate, windows, seat heating, media and
navigation as actions, its driving state read-only. Its console reads lines on stdin:
  ${vehicleConsoleHelp}
The confirm control is its own principal (a key PREFIX-vehicle-1-confirm that can only decide
the car's approvals, revoked at exit): opening a window while driving waits for it.`;

/** Runs `nimbus sim`; returns the exit code (0 stopped, 1 failed, 2 bad usage). */
export async function simCommand(argv: string[], environment: NodeJS.ProcessEnv, stop: Promise<unknown> = signalled()): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        devices: { type: 'string' },
        count: { type: 'string', default: '1' },
        prefix: { type: 'string', default: 'sim' },
        mqtt: { type: 'string' },
        protocol: { type: 'string', default: 'auto' },
        answers: { type: 'string', default: 'ack' },
        vehicle: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageError((error as Error).message);
  }
  const flags = parsed.values;
  if (flags.help) {
    console.log(simUsage);
    return 0;
  }
  if (flags.vehicle && flags.devices) return usageError('--vehicle runs the car alone; leave out --devices');
  const kinds = (flags.vehicle ? 'vehicle' : (flags.devices ?? defaultSimKinds.join(','))).split(',').map((kind) => kind.trim());
  const unknown = kinds.find((kind) => !isSimKind(kind));
  if (unknown) return usageError(`unknown device kind '${unknown}'; use ${Object.keys(simCatalog).join(', ')}`);
  const count = Number(flags.count);
  if (!Number.isInteger(count) || count < 1 || count > 1000) return usageError('--count must be from 1 to 1000');
  if (flags.vehicle && count !== 1) return usageError('--vehicle runs one car; leave out --count');
  if (!['auto', '4', '5'].includes(flags.protocol)) return usageError('--protocol must be auto, 4 or 5');
  if (!['ack', 'never', 'reject', 'fail'].includes(flags.answers)) return usageError('--answers must be ack, never, reject or fail');
  const client = adminClient(environment);
  const devices: VirtualDevice[] = [];
  let carConsole: VehicleConsole | undefined;
  try {
    const broker = await client.json<{ url: string; topic_root: string }>('GET', '/v1/mqtt');
    const url = flags.mqtt ?? broker.url;
    for (const kind of kinds as SimKind[]) {
      for (let index = 1; index <= count; index += 1) {
        const id = `${flags.prefix}-${kind}-${index}`;
        // A fresh secret each run: the simulator keeps none between runs.
        const registered = await client.json<{ secret: string; mqtt_username: string }>('PUT', `/v1/devices/${id}`, {
          model: simCatalog[kind].model,
          rotate_secret: true,
        });
        const tenantId = registered.mqtt_username.slice(0, registered.mqtt_username.indexOf('/'));
        devices.push(
          await VirtualDevice.start({
            url,
            topicRoot: broker.topic_root,
            tenantId,
            deviceId: id,
            secret: registered.secret,
            kind,
            protocol: flags.protocol === 'auto' ? 'auto' : (Number(flags.protocol) as 4 | 5),
            answers: flags.answers as AnswerMode,
            onCommand: (topic, message, answer) =>
              console.log(`${id} <- ${topic.split('/').slice(-2).join('/')} ${JSON.stringify(message)} -> ${answer?.status ?? 'no answer'}`),
          }),
        );
        console.log(`${id} online (${kind}, MQTT ${devices.at(-1)!.protocolVersion === 5 ? '5' : '3.1.1'})`);
      }
    }
    if (flags.vehicle) {
      carConsole = await startVehicleConsole({
        car: devices[0]!,
        carId: `${flags.prefix}-vehicle-1`,
        client,
        environment,
        local: !environment.NIMBUS_API_KEY,
        input: process.stdin,
        print: (line) => console.log(line),
      });
    }
    console.log(`${devices.length} virtual devices on ${url}; Ctrl-C stops them.`);
    await stop;
    return 0;
  } catch (error) {
    if (!(error instanceof CommandError) && error instanceof Error) return reportError(new CommandError(`cannot start the devices: ${error.message}`));
    return reportError(error);
  } finally {
    await carConsole?.stop();
    for (const device of devices) await device.stop().catch(() => undefined);
  }
}

/** Resolves on SIGINT or SIGTERM. */
function signalled(): Promise<unknown> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

function usageError(message: string): number {
  console.error(`error: ${message}. 'nimbus sim --help' shows the usage.`);
  return 2;
}
