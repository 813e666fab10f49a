/**
 * The car's own controls in `nimbus sim --vehicle`, read from the terminal: `drive SPEED` and
 * `park` change the driving state (no API can), and the confirm control (`confirm [ID]`,
 * `deny [ID]`) decides the approvals the assistant's commands wait for, such as opening a window
 * while driving.
 *
 * The confirm control is a principal of its own, never the assistant's key (decision 0005: the key
 * that asked cannot approve): with keys, the sim makes a key named `<car>-confirm` for it, an
 * approver of the car alone (`scopes.approvals: [car]`; no inference, no admin, no command to any
 * device; revoked when the sim stops), so the server itself keeps it to its own car's approvals. In local mode (no keys) a person typing at this
 * terminal is the one principal, recorded as `self_approved_local` like `nimbus approvals grant`.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { drivingState } from '../devices/sim/vehicle.js';
import type { VirtualDevice } from '../devices/sim/virtual-device.js';
import { adminClient, CommandError, type AdminClient } from './admin-client.js';

interface PendingApproval {
  id: string;
  device: string;
  kind: string;
  name: string;
  input: unknown;
  reason: string;
}

/** The running console: `stop` ends it and revokes the confirm key. */
export interface VehicleConsole {
  /** The confirm control's key id (null in local mode). */
  confirmKeyId: string | null;
  stop(): Promise<void>;
}

/** Options: the car, the admin client the sim runs with, whether the server is in local mode, and where lines come from. */
export interface VehicleConsoleOptions {
  car: VirtualDevice;
  carId: string;
  client: AdminClient;
  environment: NodeJS.ProcessEnv;
  local: boolean;
  input: Readable;
  print: (line: string) => void;
  /** How often the car's screen looks for approvals waiting on it (ms). */
  pollMs?: number;
}

/** The commands the car console reads. */
export const vehicleConsoleHelp = `car console: drive SPEED | park | confirm [APPROVAL] | deny [APPROVAL] | status`;

/** Starts the console: makes the confirm control's principal, shows approvals waiting for the car, reads commands. */
export async function startVehicleConsole(options: VehicleConsoleOptions): Promise<VehicleConsole> {
  const { car, carId, print } = options;
  let confirmKeyId: string | null = null;
  let confirm: AdminClient = options.client;
  if (!options.local) {
    const created = await options.client.json<{ id: string; key: string }>('POST', '/v1/keys', {
      name: `${carId}-confirm`,
      scopes: { inference: false, admin: false, models: [], devices: [], approvals: [carId] },
      expires_at: Math.floor(Date.now() / 1000) + 24 * 3600,
    });
    confirmKeyId = created.id;
    confirm = adminClient({ ...options.environment, NIMBUS_API_KEY: created.key });
    print(`${carId} confirm control: its own key ${created.id} (not the assistant's)`);
  }
  const shown = new Set<string>();
  const waiting = async (): Promise<PendingApproval[]> => {
    const listed = await confirm.json<{ data: PendingApproval[] }>('GET', '/v1/approvals?status=requested');
    return listed.data.filter((approval) => approval.device === carId);
  };
  const poll = setInterval(() => {
    void waiting()
      .then((pending) => {
        for (const approval of pending) {
          if (shown.has(approval.id)) continue;
          shown.add(approval.id);
          print(
            `${carId} screen: confirm ${approval.name} ${JSON.stringify(approval.input)}? (${approval.reason}) type 'confirm ${approval.id}' or 'deny ${approval.id}'`,
          );
        }
      })
      .catch(() => undefined);
  }, options.pollMs ?? 500);

  const decide = async (verb: 'grant' | 'deny', given: string | undefined): Promise<void> => {
    const pending = await waiting();
    const approval = given ? pending.find((candidate) => candidate.id === given) : pending[0];
    if (!approval) throw new CommandError(given ? `no approval ${given} is waiting for ${carId}` : `nothing is waiting for ${carId} to confirm`);
    await confirm.json('POST', `/v1/approvals/${approval.id}/${verb}`, options.local ? { via: 'cli' } : {});
    print(`${carId} ${verb === 'grant' ? 'confirmed' : 'denied'} ${approval.id} (${approval.name} ${JSON.stringify(approval.input)})`);
  };
  const handle = async (line: string): Promise<void> => {
    const [word, argument] = line.trim().split(/\s+/);
    if (!word) return;
    if (word === 'drive' || word === 'park') {
      const speed = word === 'park' ? 0 : Number(argument ?? 50);
      if (!Number.isFinite(speed) || speed < 0 || speed > 250) throw new CommandError('drive takes a speed from 0 to 250 km/h');
      await car.report(drivingState(speed));
      print(`${carId} ${speed > 0 ? `driving at ${speed} km/h` : 'parked'}`);
    } else if (word === 'confirm' || word === 'deny') await decide(word === 'confirm' ? 'grant' : 'deny', argument);
    else if (word === 'status') print(`${carId} ${JSON.stringify(car.state)}`);
    else throw new CommandError(`unknown command '${word}'; ${vehicleConsoleHelp}`);
  };
  const lines = createInterface({ input: options.input, terminal: false });
  // One line at a time, in order: a `confirm` typed after `drive` sees the car driving.
  let queue = Promise.resolve();
  lines.on('line', (line) => {
    queue = queue.then(() => handle(line).catch((error: unknown) => print(`error: ${(error as Error).message}`)));
  });
  print(vehicleConsoleHelp);
  return {
    confirmKeyId,
    async stop() {
      clearInterval(poll);
      lines.close();
      await queue;
      if (confirmKeyId) await options.client.json('DELETE', `/v1/keys/${confirmKeyId}`).catch(() => undefined);
    },
  };
}
