/** `nimbus estop`: the tenant's emergency stop. Any key with a device scope engages it; clearing needs an admin. */
import { parseArgs } from 'node:util';
import { adminClient } from './admin-client.js';
import { formatMs, reportError } from './device-output.js';

export const estopUsage = `Usage: nimbus estop [status]
       nimbus estop on [--reason TEXT]
       nimbus estop off

While engaged, every actuation of the tenant's devices is refused, and devices are told on their
tenant's $estop topic (conveyors and robots halt). Talks to NIMBUS_URL with NIMBUS_API_KEY.`;

interface StopView {
  active: boolean;
  reason: string;
  changed_by: string | null;
  changed_at: number | null;
}

/** Runs `nimbus estop`; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function estopCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { reason: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    console.error(`error: ${(error as Error).message}. 'nimbus estop --help' shows the usage.`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(estopUsage);
    return 0;
  }
  const [action = 'status'] = parsed.positionals;
  const client = adminClient(environment);
  try {
    let stop: StopView;
    if (action === 'status') stop = await client.json<StopView>('GET', '/v1/estop');
    else if (action === 'on') stop = await client.json<StopView>('POST', '/v1/estop', { reason: parsed.values.reason ?? 'engaged from the command line' });
    else if (action === 'off') stop = await client.json<StopView>('DELETE', '/v1/estop');
    else {
      console.error(`error: unknown action '${action}'; use status, on or off.`);
      return 2;
    }
    console.log(
      stop.active
        ? `EMERGENCY STOP ENGAGED: ${stop.reason} (by ${stop.changed_by}, ${formatMs(stop.changed_at)} UTC)`
        : `emergency stop clear${stop.changed_by ? ` (by ${stop.changed_by}, ${formatMs(stop.changed_at)} UTC)` : ''}`,
    );
    return 0;
  } catch (error) {
    return reportError(error);
  }
}
