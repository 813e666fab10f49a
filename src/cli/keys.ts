/**
 * `nimbus keys create|list|update|revoke`: API keys through the admin API. `create` prints the key
 * alone on stdout (so `KEY=$(nimbus keys create ...)` works) and what it is on stderr; the key
 * is shown this once and never again.
 */
import { commandArgs } from './command-args.js';
import { adminClient, CommandError } from './admin-client.js';
import { formatLimits, limitHelp, limitOptions, limitsFromFlags } from './limit-flags.js';
import { formatSeconds, renderTable } from './render-table.js';

export const keysUsage = `Usage: nimbus keys create --name NAME [--tenant ID] [--admin] [--no-inference]
                          [--models A,B | --models '*'] [--devices A,B] [--approvals A,B|'*']
                          [--expires 30d|DATE] [limits]
       nimbus keys list [--tenant ID] [--json]
       nimbus keys update ID [--name NAME] [limits]
       nimbus keys revoke ID...

--approvals makes an approver: with --no-inference, a key that can only list and decide the
approvals of those devices (a car's confirm control).

'update' changes a key's name or limits; it applies to the key's next request. Limits not
named stay as they are; 'none' removes one.

Talks to the server at NIMBUS_URL (default http://127.0.0.1:8080) with the admin key in
NIMBUS_API_KEY (not needed in local mode; the first key created ends local mode, so make it an
admin key: nimbus keys create --admin --name operator).

${limitHelp}`;

interface KeyView {
  id: string;
  key?: string;
  tenant: string;
  name: string;
  prefix: string;
  status: string;
  scopes: { inference: boolean; admin: boolean; models: '*' | string[]; devices: '*' | string[]; approvals?: '*' | string[] };
  limits: Record<string, number>;
  created_at: number;
  expires_at: number | null;
}

/** Runs `nimbus keys`; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function keysCommand(argv: string[], environment: NodeJS.ProcessEnv, now = Date.now()): Promise<number> {
  const parsed = commandArgs(
    argv,
    {
      name: { type: 'string' },
      tenant: { type: 'string' },
      admin: { type: 'boolean' },
      'no-inference': { type: 'boolean' },
      models: { type: 'string' },
      devices: { type: 'string' },
      approvals: { type: 'string' },
      expires: { type: 'string' },
      json: { type: 'boolean' },
      ...limitOptions,
    },
    keysUsage,
    usageError,
  );
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values;
  const [action, ...ids] = parsed.positionals;
  const client = adminClient(environment);
  try {
    switch (action) {
      case 'create': {
        if (!values.name) return usageError("missing --name, a label for the key (e.g. --name 'ci')");
        if (ids.length > 0) return usageError(`unexpected '${ids.join(' ')}'`);
        const limits = limitsFromFlags(values);
        const body = {
          name: values.name,
          ...(values.tenant ? { tenant: values.tenant } : {}),
          scopes: {
            admin: Boolean(values.admin),
            inference: !values['no-inference'],
            ...(values.models !== undefined ? { models: allowance(values.models) } : {}),
            ...(values.devices !== undefined ? { devices: allowance(values.devices) } : {}),
            ...(values.approvals !== undefined ? { approvals: allowance(values.approvals) } : {}),
          },
          ...(limits ? { limits } : {}),
          ...(values.expires ? { expires_at: expiresAt(values.expires, now) } : {}),
        };
        const created = await client.json<KeyView>('POST', '/v1/keys', body);
        console.error(`Created ${created.id} (${created.prefix}...) for tenant '${created.tenant}'. Save the key now: it is shown only once.`);
        console.log(created.key);
        return 0;
      }
      case 'list':
      case 'ls': {
        if (ids.length > 0) return usageError(`unexpected '${ids.join(' ')}'`);
        const query = values.tenant ? `?tenant=${encodeURIComponent(values.tenant)}` : '';
        const list = await client.json<{ data: KeyView[] }>('GET', `/v1/keys${query}`);
        console.log(values.json ? JSON.stringify(list.data, null, 2) : render(list.data));
        return 0;
      }
      case 'update': {
        const [id, ...extra] = ids;
        if (!id) return usageError("missing ID, the key to change ('nimbus keys list' shows ids)");
        if (extra.length > 0) return usageError(`unexpected '${extra.join(' ')}'`);
        const limits = limitsFromFlags(values);
        if (!limits && !values.name) return usageError('nothing to change: give --name or a limit flag (e.g. --rpm 60, or --rpm none)');
        const body = { ...(values.name ? { name: values.name } : {}), ...(limits ? { limits } : {}) };
        const updated = await client.json<KeyView>('PATCH', `/v1/keys/${encodeURIComponent(id)}`, body);
        console.log(`updated ${updated.id} (${updated.name}): ${formatLimits(updated.limits)}`);
        return 0;
      }
      case 'revoke': {
        if (ids.length === 0) return usageError("missing ID, the key to revoke ('nimbus keys list' shows ids)");
        for (const id of ids) {
          const revoked = await client.json<KeyView>('DELETE', `/v1/keys/${encodeURIComponent(id)}`);
          console.log(`revoked ${revoked.id} (${revoked.prefix}...)`);
        }
        return 0;
      }
      default:
        return usageError(action ? `unknown action '${action}'; use create, list, update or revoke` : 'missing action: create, list, update or revoke');
    }
  } catch (error) {
    if (error instanceof CommandError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** `*` or a comma-separated list. */
function allowance(text: string): '*' | string[] {
  return text.trim() === '*'
    ? '*'
    : text
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean);
}

/** `30d`, `12h`, `2025-12-31` or an ISO time, as unix seconds. */
export function expiresAt(text: string, now: number): number {
  const relative = /^(\d+)([dhm])$/.exec(text);
  if (relative) {
    const unit = { d: 86_400, h: 3_600, m: 60 }[relative[2] as 'd' | 'h' | 'm'];
    return Math.floor(now / 1000) + Number(relative[1]) * unit;
  }
  const at = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || !Number.isFinite(at))
    throw new CommandError(`--expires takes 30d, 12h, 90m, a date (2025-12-31) or an ISO time, got '${text}'`);
  return Math.floor(at / 1000);
}

function render(keys: KeyView[]): string {
  if (keys.length === 0) return 'No keys. Create one with: nimbus keys create --name NAME';
  const scopeText = (key: KeyView): string => {
    const parts = [key.scopes.inference ? 'inference' : '', key.scopes.admin ? 'admin' : ''].filter(Boolean);
    if (key.scopes.models !== '*') parts.push(`models=${key.scopes.models.join(',') || 'none'}`);
    if (key.scopes.devices === '*' || key.scopes.devices.length > 0) parts.push(`devices=${key.scopes.devices === '*' ? '*' : key.scopes.devices.join(',')}`);
    const approvals = key.scopes.approvals;
    if (approvals !== undefined && (approvals === '*' || approvals.length > 0)) parts.push(`approvals=${approvals === '*' ? '*' : approvals.join(',')}`);
    return parts.join(' ') || 'none';
  };
  return renderTable([
    ['ID', 'TENANT', 'NAME', 'PREFIX', 'STATUS', 'SCOPES', 'EXPIRES (UTC)', 'LIMITS'],
    ...keys.map((key) => [
      key.id,
      key.tenant,
      key.name,
      `${key.prefix}...`,
      key.status,
      scopeText(key),
      formatSeconds(key.expires_at),
      formatLimits(key.limits),
    ]),
  ]);
}

function usageError(message: string): number {
  console.error(`error: ${message}. 'nimbus keys --help' shows the usage.`);
  return 2;
}
