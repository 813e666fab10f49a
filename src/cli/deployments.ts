/** `nimbus deployments`: list, remove, scale and explain pool deployments through the admin API. */
import { commandArgs } from './command-args.js';
import { adminClient, commandFailure } from './admin-client.js';
import { autoscaleFromFlags, autoscaleHelp, autoscaleOptions } from './autoscale-flags.js';
import { renderDeployments, type DeploymentView } from './pool-output.js';

export const deploymentsUsage = `Usage: nimbus deployments [list] [--json]
       nimbus deployments rm NAME
       nimbus deployments scale NAME N [--fixed]
       nimbus deployments scale NAME --min N --max N [--target-queue N] [--scale-down-ms N] [--scale-from-zero-timeout-ms N]
       nimbus deployments explain NAME

'scale NAME N' sets the count (within the range while it autoscales); --fixed stops autoscaling.
'explain' prints, for each replica, which workers were considered and why each was taken or
refused, and the last scaling decision. Talks to NIMBUS_URL with the admin key in NIMBUS_API_KEY
(not needed in local mode).

${autoscaleHelp}`;

/** Runs `nimbus deployments`; returns the exit code. */
export async function deploymentsCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  const parsed = commandArgs(argv, { json: { type: 'boolean' }, fixed: { type: 'boolean' }, ...autoscaleOptions }, deploymentsUsage, usageError);
  if (typeof parsed === 'number') return parsed;
  const [action = 'list', name, count, ...extra] = parsed.positionals;
  if (extra.length > 0) return usageError(`unexpected '${extra.join(' ')}'`);
  const client = adminClient(environment);
  const path = name === undefined ? '' : `/v1/deployments/${encodeURIComponent(name)}`;
  try {
    switch (action) {
      case 'ls':
      case 'list': {
        const list = await client.json<{ data: DeploymentView[] }>('GET', '/v1/deployments');
        console.log(parsed.values.json ? JSON.stringify(list.data, null, 2) : renderDeployments(list.data));
        return 0;
      }
      case 'rm':
        if (!name) return usageError('missing NAME');
        await client.json('DELETE', path);
        console.log(`Removed deployment ${name}; its replicas stop at their workers' next heartbeat.`);
        return 0;
      case 'scale': {
        const autoscale = autoscaleFromFlags(parsed.values);
        if ('error' in autoscale) return usageError(autoscale.error);
        const autoscaling = Object.keys(autoscale.body).length > 0;
        if (!name || (count === undefined && !autoscaling && !parsed.values.fixed))
          return usageError('usage: nimbus deployments scale NAME N, or NAME --min N --max N');
        if (count !== undefined && !/^\d+$/.test(count)) return usageError(`N must be a whole number, got '${count}'`);
        if (parsed.values.fixed && autoscaling) return usageError('--fixed stops autoscaling; drop --min, --max and the other autoscale flags');
        const body = {
          ...(count === undefined ? {} : { replicas: Number(count) }),
          ...autoscale.body,
          ...(parsed.values.fixed ? { autoscale: false } : {}),
        };
        console.log(renderDeployments([await client.json<DeploymentView>('PATCH', path, body)]));
        return 0;
      }
      case 'explain': {
        if (!name) return usageError('missing NAME');
        console.log((await client.json<{ lines: string[] }>('GET', `${path}/explain`)).lines.join('\n'));
        return 0;
      }
      default:
        return usageError(`unknown action '${action}'; use list, rm, scale or explain`);
    }
  } catch (error) {
    return commandFailure(error);
  }
}

function usageError(message: string): number {
  console.error(`error: ${message}. 'nimbus deployments --help' shows the usage.`);
  return 2;
}
