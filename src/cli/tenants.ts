/** `nimbus tenants`: list, show, create and change tenants through the admin API. */
import { commandArgs } from './command-args.js';
import { adminClient, CommandError } from './admin-client.js';
import { formatLimits, limitHelp, limitOptions, limitsFromFlags } from './limit-flags.js';
import { formatSeconds, renderTable } from './render-table.js';

export const tenantsUsage = `Usage: nimbus tenants [ls] [--json]
       nimbus tenants show ID
       nimbus tenants create ID [--name NAME] [limits]
       nimbus tenants set ID [--name NAME] [limits]

Talks to the server at NIMBUS_URL (default http://127.0.0.1:8080) with the admin key in
NIMBUS_API_KEY (not needed in local mode). Creating and changing tenants needs an admin key of
the 'default' tenant.

${limitHelp}`;

interface TenantView {
  id: string;
  name: string;
  limits: Record<string, number>;
  created_at: number;
}

/** Runs `nimbus tenants`; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function tenantsCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  const parsed = commandArgs(argv, { name: { type: 'string' }, json: { type: 'boolean' }, ...limitOptions }, tenantsUsage, usageError);
  if (typeof parsed === 'number') return parsed;
  const [action = 'ls', id, ...extra] = parsed.positionals;
  if (extra.length > 0) return usageError(`unexpected '${extra.join(' ')}'`);
  const client = adminClient(environment);
  try {
    const limits = limitsFromFlags(parsed.values);
    switch (action) {
      case 'ls':
      case 'list': {
        const list = await client.json<{ data: TenantView[] }>('GET', '/v1/tenants');
        console.log(parsed.values.json ? JSON.stringify(list.data, null, 2) : render(list.data));
        return 0;
      }
      case 'show':
        if (!id) return usageError('missing ID');
        console.log(JSON.stringify(await client.json('GET', `/v1/tenants/${encodeURIComponent(id)}`), null, 2));
        return 0;
      case 'create': {
        if (!id) return usageError('missing ID, the new tenant (lower-case letters, digits, - and _)');
        const created = await client.json<TenantView>('POST', '/v1/tenants', {
          id,
          ...(parsed.values.name ? { name: parsed.values.name } : {}),
          ...(limits ? { limits } : {}),
        });
        console.log(render([created]));
        return 0;
      }
      case 'set': {
        if (!id) return usageError('missing ID');
        if (!parsed.values.name && !limits) return usageError('nothing to change: give --name or a limit flag');
        const updated = await client.json<TenantView>('PATCH', `/v1/tenants/${encodeURIComponent(id)}`, {
          ...(parsed.values.name ? { name: parsed.values.name } : {}),
          ...(limits ? { limits } : {}),
        });
        console.log(render([updated]));
        return 0;
      }
      default:
        return usageError(`unknown action '${action}'; use ls, show, create or set`);
    }
  } catch (error) {
    if (error instanceof CommandError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

function render(tenants: TenantView[]): string {
  if (tenants.length === 0) return 'No tenants.';
  return renderTable([
    ['ID', 'NAME', 'CREATED (UTC)', 'LIMITS'],
    ...tenants.map((tenant) => [tenant.id, tenant.name, formatSeconds(tenant.created_at), formatLimits(tenant.limits)]),
  ]);
}

function usageError(message: string): number {
  console.error(`error: ${message}. 'nimbus tenants --help' shows the usage.`);
  return 2;
}
