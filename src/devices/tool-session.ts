/**
 * What one conversation (a chat completion, an MCP session, a REST call) carries between tool
 * calls: who and what for the audit log, whether untrusted text has entered the model's context,
 * the approvals presented out of band, and the devices already actuated (for the cap).
 */
import type { Principal } from '../core/principal.js';

export interface ToolSession {
  principal: Principal;
  /** `chat`, `response`, `mcp` or `rest`. */
  source: 'chat' | 'response' | 'mcp' | 'rest';
  model: string | null;
  conversation: string | null;
  /** Set once untrusted text entered the context; from then on every actuation needs approval. */
  untrusted: boolean;
  /** Approval ids presented by the client (never by the model). */
  approvals: readonly string[];
  /** Devices actuated so far. */
  touched: Set<string>;
  /** Devices the current model turn proposes to actuate (set by the tool loop per turn). */
  planned: Set<string>;
}

/** A fresh session. */
export function newToolSession(
  principal: Principal,
  source: ToolSession['source'],
  fields: Partial<Pick<ToolSession, 'model' | 'conversation' | 'untrusted' | 'approvals'>> = {},
): ToolSession {
  return {
    principal,
    source,
    model: fields.model ?? null,
    conversation: fields.conversation ?? null,
    untrusted: fields.untrusted ?? false,
    approvals: fields.approvals ?? [],
    touched: new Set(),
    planned: new Set(),
  };
}

/** How the audit log names a principal: `key:ID`, or `local` in local mode. */
export function actorOf(principal: Principal): string {
  return principal.keyId ? `key:${principal.keyId}` : 'local';
}
