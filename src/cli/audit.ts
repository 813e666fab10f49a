/** `nimbus audit`: the append-only audit log of device actions (admin API), newest first. */
import { parseArgs } from 'node:util';
import { adminClient } from './admin-client.js';
import { auditVerifyCommand } from './audit-verify.js';
import { formatMs, reportError } from './device-output.js';
import { renderTable } from './render-table.js';

export const auditUsage = `Usage: nimbus audit [--device ID] [--event EVENT] [--conversation ID] [--command ID] [--limit N] [--json]
       nimbus audit verify [--checkpoints FILE] [--public-key FILE] [--json]

Events: proposal, denial, approval_requested, approval_granted, approval_denied,
approval_redeemed, execution, outcome, read, emergency_stop, emergency_clear,
device_registered, device_removed, refusals_aggregated. Needs an admin key in NIMBUS_API_KEY (not in local mode).`;

interface AuditView {
  at: number;
  event: string;
  actor: string;
  model: string | null;
  conversation: string | null;
  device: string | null;
  command: string | null;
  approval: string | null;
  detail: Record<string, unknown>;
}

/** Runs `nimbus audit`; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function auditCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  if (argv[0] === 'verify') return auditVerifyCommand(argv.slice(1), environment);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        device: { type: 'string' },
        event: { type: 'string' },
        conversation: { type: 'string' },
        command: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}. 'nimbus audit --help' shows the usage.`);
    return 2;
  }
  const { help, json, ...filters } = parsed.values;
  if (help) {
    console.log(auditUsage);
    return 0;
  }
  const search = new URLSearchParams(Object.entries(filters).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  try {
    const list = await adminClient(environment).json<{ data: AuditView[] }>('GET', `/v1/audit${search.size > 0 ? `?${search}` : ''}`);
    if (json) console.log(JSON.stringify(list.data, null, 2));
    else if (list.data.length === 0) console.log('No audit entries match.');
    else {
      console.log(
        renderTable([
          ['AT (UTC)', 'EVENT', 'WHO', 'MODEL', 'CONVERSATION', 'DEVICE', 'DETAIL'],
          ...list.data.map((entry) => [
            formatMs(entry.at),
            entry.event,
            entry.actor,
            entry.model ?? '-',
            entry.conversation ?? '-',
            entry.device ?? '-',
            JSON.stringify({ ...entry.detail, ...(entry.command ? { command: entry.command } : {}), ...(entry.approval ? { approval: entry.approval } : {}) }),
          ]),
        ]),
      );
    }
    return 0;
  } catch (error) {
    return reportError(error);
  }
}
