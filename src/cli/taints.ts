/** `nimbus taints`: the keys and conversations that were shown untrusted device text, and clearing them (admin API). */
import { commandArgs } from './command-args.js';
import { adminClient } from './admin-client.js';
import { formatMs, reportError } from './device-output.js';
import { renderTable } from './render-table.js';

export const taintsUsage = `Usage: nimbus taints [ls] [--json]
       nimbus taints clear SUBJECT...
       nimbus taints clear [--key ID] [--conversation ID]

A key or conversation that was shown untrusted device text (a free-text event, an instruction
in a reported state) is tainted for devices.taintWindowMs (15 min by default): every actuation by
it needs a human approval until then, on every control plane. A device that keeps sending text
keeps it tainted. An admin who has read what the device sent may clear it: SUBJECT as listed
(key:ID, conversation:ID, local). Every clear is audited (taint_cleared). Needs an admin key in
NIMBUS_API_KEY (not in local mode); talks to NIMBUS_URL (default http://127.0.0.1:8080).`;

interface TaintView {
  subject: string;
  until: number;
  reason: string;
  set_at: number;
}

/** Runs `nimbus taints`; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function taintsCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  const parsed = commandArgs(argv, { key: { type: 'string' }, conversation: { type: 'string' }, json: { type: 'boolean' } }, taintsUsage, usageError);
  if (typeof parsed === 'number') return parsed;
  const [action = 'ls', ...subjects] = parsed.positionals;
  const client = adminClient(environment);
  try {
    switch (action) {
      case 'ls':
      case 'list': {
        const list = await client.json<{ data: TaintView[] }>('GET', '/v1/taints');
        console.log(parsed.values.json ? JSON.stringify(list.data, null, 2) : render(list.data));
        return 0;
      }
      case 'clear': {
        const targets = subjects.map(target);
        if (parsed.values.key || parsed.values.conversation) targets.push({ key: parsed.values.key, conversation: parsed.values.conversation });
        if (targets.length === 0) return usageError("name what to clear: a SUBJECT as 'nimbus taints' lists it, or --key ID and/or --conversation ID");
        const bad = subjects.find((subject, index) => !targets[index]!.key && !targets[index]!.conversation);
        if (bad !== undefined) return usageError(`'${bad}' is not a subject: use key:ID, conversation:ID or local`);
        let cleared = 0;
        for (const { key, conversation } of targets) {
          const query = new URLSearchParams({ ...(key ? { key } : {}), ...(conversation ? { conversation } : {}) });
          cleared += (await client.json<{ cleared: number }>('DELETE', `/v1/taints?${query.toString()}`)).cleared;
        }
        console.log(
          cleared === 0 ? 'Nothing was tainted there; the clear is audited all the same.' : `Cleared ${cleared} taint${cleared === 1 ? '' : 's'} (audited).`,
        );
        return 0;
      }
      default:
        return usageError(`unknown action '${action}'; use ls or clear`);
    }
  } catch (error) {
    return reportError(error);
  }
}

/** A subject as listed (`key:ID`, `conversation:ID`, `local`) as the API's query. */
function target(subject: string): { key?: string | undefined; conversation?: string | undefined } {
  if (subject === 'local') return { key: 'local' };
  if (subject.startsWith('key:') && subject.length > 4) return { key: subject.slice(4) };
  if (subject.startsWith('conversation:') && subject.length > 13) return { conversation: subject.slice(13) };
  return {};
}

function render(taints: TaintView[]): string {
  if (taints.length === 0) return 'No taints in force.';
  return renderTable([
    ['SUBJECT', 'UNTIL (UTC)', 'SINCE (UTC)', 'WHY'],
    ...taints.map((taint) => [taint.subject, formatMs(taint.until), formatMs(taint.set_at), taint.reason]),
  ]);
}

function usageError(message: string): number {
  console.error(`error: ${message}. 'nimbus taints --help' shows the usage.`);
  return 2;
}
