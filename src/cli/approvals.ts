/** `nimbus approvals`: list, grant and deny human approvals of risky device commands (admin API). */
import { commandArgs } from './command-args.js';
import { adminClient } from './admin-client.js';
import { formatMs, reportError } from './device-output.js';
import { renderTable } from './render-table.js';

export const approvalsUsage = `Usage: nimbus approvals [ls] [--status requested|granted|denied|used|expired|void] [--json]
       nimbus approvals show ID
       nimbus approvals grant ID
       nimbus approvals deny ID

An approval allows one exact command (its sha256 is shown), once, for a short time, for the key
that asked. The key that asked can never grant it; a critical command needs two grants from two
other admin keys. In local mode you approve your own commands here (recorded as
self_approved_local). An emergency stop voids every pending or granted approval. Needs an admin
key in NIMBUS_API_KEY (not in local mode); talks to NIMBUS_URL (default http://127.0.0.1:8080).`;

interface ApprovalView {
  id: string;
  status: string;
  device: string;
  kind: string;
  name: string;
  input: unknown;
  risk: string;
  reason: string;
  command_hash: string;
  requested_by: string | null;
  requested_at: number;
  expires_at: number;
}

/** Runs `nimbus approvals`; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function approvalsCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  const parsed = commandArgs(argv, { status: { type: 'string' }, json: { type: 'boolean' } }, approvalsUsage, usageError);
  if (typeof parsed === 'number') return parsed;
  const [action = 'ls', id] = parsed.positionals;
  const client = adminClient(environment);
  try {
    switch (action) {
      case 'ls':
      case 'list': {
        const list = await client.json<{ data: ApprovalView[] }>(
          'GET',
          `/v1/approvals${parsed.values.status ? `?status=${encodeURIComponent(parsed.values.status)}` : ''}`,
        );
        console.log(parsed.values.json ? JSON.stringify(list.data, null, 2) : render(list.data));
        return 0;
      }
      case 'show':
      case 'get':
        if (!id) return usageError('missing ID');
        console.log(JSON.stringify(await client.json('GET', `/v1/approvals/${encodeURIComponent(id)}`), null, 2));
        return 0;
      case 'grant':
      case 'deny': {
        if (!id) return usageError(`missing ID, the approval to ${action} ('nimbus approvals' lists them)`);
        // `via: cli` says a person decided here: local mode takes decisions only from the CLI and the console.
        const decided = await client.json<ApprovalView>('POST', `/v1/approvals/${encodeURIComponent(id)}/${action}`, { via: 'cli' });
        console.log(render([decided]));
        if (action === 'grant' && decided.status === 'requested') console.log('\nCritical: granted once; a second admin, with another key, must grant it too.');
        else if (action === 'grant') console.log(`\nValid until ${formatMs(decided.expires_at)} UTC, once, for the exact command above.`);
        return 0;
      }
      default:
        return usageError(`unknown action '${action}'; use ls, show, grant or deny`);
    }
  } catch (error) {
    return reportError(error);
  }
}

function render(approvals: ApprovalView[]): string {
  if (approvals.length === 0) return 'No approvals.';
  return renderTable([
    ['ID', 'STATUS', 'RISK', 'COMMAND', 'WHY', 'ASKED BY', 'EXPIRES (UTC)'],
    ...approvals.map((approval) => [
      approval.id,
      approval.status,
      approval.risk,
      `${approval.device} ${approval.kind} ${approval.name} ${JSON.stringify(approval.input)}`,
      approval.reason,
      approval.requested_by ?? 'local',
      formatMs(approval.expires_at),
    ]),
  ]);
}

function usageError(message: string): number {
  console.error(`error: ${message}. 'nimbus approvals --help' shows the usage.`);
  return 2;
}
