/** `nimbus workers`: join tokens, the pool's workers, draining one and removing a dead one, through the admin API. */
import { commandArgs } from './command-args.js';
import { adminClient, commandFailure } from './admin-client.js';
import { renderWorkers, type WorkerView } from './pool-output.js';

export const workersUsage = `Usage: nimbus workers [list] [--json]
       nimbus workers token [--expires-in SECONDS]
       nimbus workers drain NAME [--undo]
       nimbus workers rm NAME

'token' creates a join token, shown once: run 'nimbus worker --join URL --token TOKEN' with it on
each machine. 'drain' moves a worker's replicas to other workers before maintenance; --undo lets
it take replicas again. 'rm' forgets a worker that stopped answering (a dead machine); one that
still beats is refused. Talks to NIMBUS_URL with the admin key in NIMBUS_API_KEY.`;

/** Runs `nimbus workers`; returns the exit code. */
export async function workersCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  const parsed = commandArgs(argv, { json: { type: 'boolean' }, undo: { type: 'boolean' }, 'expires-in': { type: 'string' } }, workersUsage, usageError);
  if (typeof parsed === 'number') return parsed;
  const [action = 'list', name, ...extra] = parsed.positionals;
  if (extra.length > 0) return usageError(`unexpected '${extra.join(' ')}'`);
  const client = adminClient(environment);
  try {
    switch (action) {
      case 'ls':
      case 'list': {
        const list = await client.json<{ data: WorkerView[] }>('GET', '/v1/pool/workers');
        console.log(parsed.values.json ? JSON.stringify(list.data, null, 2) : renderWorkers(list.data));
        return 0;
      }
      case 'token': {
        const expires = parsed.values['expires-in'];
        if (expires !== undefined && !/^\d+$/.test(expires)) return usageError(`--expires-in must be seconds, got '${expires}'`);
        const created = await client.json<{ token: string; expires_at: number | null }>(
          'POST',
          '/v1/pool/join-tokens',
          expires === undefined ? {} : { expires_in_seconds: Number(expires) },
        );
        console.log(created.token);
        console.error(
          `This join token is shown once${created.expires_at ? ` and expires ${new Date(created.expires_at).toISOString()}` : ''}. On each machine: nimbus worker --join ${client.url} --token TOKEN`,
        );
        return 0;
      }
      case 'drain': {
        if (!name) return usageError('missing NAME');
        const worker = await client.json<WorkerView>('POST', `/v1/pool/workers/${encodeURIComponent(name)}/drain`, { draining: !parsed.values.undo });
        console.log(renderWorkers([worker]));
        return 0;
      }
      case 'rm':
      case 'remove': {
        if (!name) return usageError('missing NAME');
        await client.json('DELETE', `/v1/pool/workers/${encodeURIComponent(name)}`);
        console.log(`Removed worker ${name}; its replicas are placed elsewhere.`);
        return 0;
      }
      default:
        return usageError(`unknown action '${action}'; use list, token, drain or rm`);
    }
  } catch (error) {
    return commandFailure(error);
  }
}

function usageError(message: string): number {
  console.error(`error: ${message}. 'nimbus workers --help' shows the usage.`);
  return 2;
}
