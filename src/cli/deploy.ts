/** `nimbus deploy MODEL`: serve a model from the pool's workers, through the admin API. */
import { commandArgs } from './command-args.js';
import { adminClient, commandFailure } from './admin-client.js';
import { autoscaleFromFlags, autoscaleHelp, autoscaleOptions } from './autoscale-flags.js';
import { renderDeployments, type DeploymentView } from './pool-output.js';

export const deployUsage = `Usage: nimbus deploy MODEL [--name NAME] [--replicas N] [--device auto|gpu|cpu] [--ctx N] [--slots N]
                   [--spare-slots N] [--routing POLICY]
                   [--min N --max N [--target-queue N] [--scale-down-ms N] [--scale-from-zero-timeout-ms N]]

MODEL is a GGUF path on the control plane or hf:owner/repo/file.gguf (fetched into its cache);
workers download it from the control plane. Defaults: --replicas 1, --device auto, --ctx 4096,
--slots 4, --spare-slots 1, --routing estimated-ttft (or prefix-cache, round-robin, least-outstanding-tokens,
session-affinity). --spare-slots: sequences beyond --slots that only interactive requests take while batch
lines hold the slots; each costs one slot's KV cache, counted when placing replicas; 0 for none.
With --min 0 the deployment starts with no replica: the first request waits while one loads.
Talks to NIMBUS_URL with the admin key in NIMBUS_API_KEY (not needed in local mode).

${autoscaleHelp}`;

const numericFlags = ['replicas', 'ctx', 'slots', 'spare-slots'] as const;

/** Runs `nimbus deploy`; returns the exit code. */
export async function deployCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  const parsed = commandArgs(
    argv,
    {
      name: { type: 'string' },
      replicas: { type: 'string' },
      device: { type: 'string' },
      ctx: { type: 'string' },
      slots: { type: 'string' },
      'spare-slots': { type: 'string' },
      routing: { type: 'string' },
      ...autoscaleOptions,
      json: { type: 'boolean' },
    },
    deployUsage,
    usageError,
  );
  if (typeof parsed === 'number') return parsed;
  const [model, ...extra] = parsed.positionals;
  if (!model) return usageError('missing MODEL');
  if (extra.length > 0) return usageError(`unexpected '${extra.join(' ')}'`);
  const numbers: Record<string, number> = {};
  for (const flag of numericFlags) {
    const text = parsed.values[flag];
    if (text === undefined) continue;
    if (!/^\d+$/.test(text)) return usageError(`--${flag} must be a whole number, got '${text}'`);
    numbers[flag] = Number(text);
  }
  const autoscale = autoscaleFromFlags(parsed.values);
  if ('error' in autoscale) return usageError(autoscale.error);
  try {
    const view = await adminClient(environment).json<DeploymentView>('POST', '/v1/deployments', {
      model,
      ...(parsed.values.name ? { name: parsed.values.name } : {}),
      ...(numbers.replicas !== undefined ? { replicas: numbers.replicas } : {}),
      ...(parsed.values.device ? { device: parsed.values.device } : {}),
      ...(numbers.ctx !== undefined ? { context_size: numbers.ctx } : {}),
      ...(numbers.slots !== undefined ? { slots: numbers.slots } : {}),
      ...(numbers['spare-slots'] !== undefined ? { spare_slots: numbers['spare-slots'] } : {}),
      ...(parsed.values.routing ? { routing: parsed.values.routing } : {}),
      ...autoscale.body,
    });
    console.log(parsed.values.json ? JSON.stringify(view, null, 2) : renderDeployments([view]));
    return 0;
  } catch (error) {
    return commandFailure(error);
  }
}

function usageError(message: string): number {
  console.error(`error: ${message}. 'nimbus deploy --help' shows the usage.`);
  return 2;
}
