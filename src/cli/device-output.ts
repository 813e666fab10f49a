/** What `nimbus devices` and `nimbus approvals` print for actions and times; shared by both. */
import { CommandError } from './admin-client.js';

/** An action as the API answers it (`object: device.action`). */
export interface ActionView {
  device: string;
  kind: string;
  name?: string;
  status: string;
  message: string;
  risk?: string;
  command?: string;
  approval?: string;
  output?: unknown;
  error?: string;
  state_after?: Record<string, unknown>;
}

/** Unix ms as `YYYY-MM-DD HH:MM:SS` UTC, or `-`. */
export function formatMs(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString().slice(0, 19).replace('T', ' ') : '-';
}

/** A command-line value: JSON where it parses (`42`, `true`, `{"x":1}`), else the plain string. */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Prints an action's outcome; the exit code: 0 acked or pending, 3 waiting for approval, 1 otherwise. */
export function printAction(action: ActionView): number {
  const what = `${action.device} ${action.kind === 'set' ? `set ${action.name}` : (action.name ?? action.kind)}`;
  if (action.status === 'approval_required') {
    console.log(
      `${what}: needs a human approval (risk ${action.risk}). An admin runs 'nimbus approvals grant ${action.approval}'; then repeat this command with --approval ${action.approval}.`,
    );
    return 3;
  }
  const details = [
    action.command,
    action.output !== undefined ? `output ${JSON.stringify(action.output)}` : '',
    action.error ? `device said: ${action.error}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  console.log(
    `${what}: ${action.status}${details ? ` (${details})` : ''}${action.status === 'acked' || action.status === 'pending' ? '' : ` - ${action.message}`}`,
  );
  if (action.state_after) console.log(`reported: ${JSON.stringify(action.state_after)}`);
  return action.status === 'acked' || action.status === 'pending' ? 0 : 1;
}

/** Prints a CommandError and returns 1; rethrows anything else. */
export function reportError(error: unknown): number {
  if (!(error instanceof CommandError)) throw error;
  console.error(`error: ${error.message}`);
  return 1;
}
