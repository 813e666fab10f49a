/**
 * What a proposal came to, as the chat loop, MCP and REST report it, and the words and hash the
 * gateway uses for commands: split from device-gateway.ts so that file keeps to the path itself.
 */
import type { CommandRecord, RiskTier } from '../core/device-store.js';
import { canonicalJson, sha256 } from './canonical-json.js';
import type { DenialReason, Proposal } from './policy.js';

/** What happened to one proposal, as the chat loop, MCP and REST report it. */
export interface ActionReport {
  tool?: string;
  deviceId: string;
  kind: Proposal['kind'];
  name?: string;
  input?: unknown;
  /** `read`, a command state, `denied`, or `approval_required`. */
  status: 'read' | CommandRecord['state'] | 'denied' | 'approval_required';
  /** For denials: the stable reason. */
  reason?: DenialReason;
  message: string;
  risk?: RiskTier;
  commandId?: string;
  approvalId?: string;
  output?: unknown;
  /** The device's own reason for failing or rejecting (device text: untrusted when free text). */
  error?: string;
  stateBefore?: Record<string, unknown>;
  stateAfter?: Record<string, unknown>;
  /** For reads: the live state, in its (possibly untrusted) envelope. */
  data?: unknown;
  /** True when this result carries untrusted text into the context. */
  untrusted?: boolean;
  retryAfterMs?: number;
  /** For a refused argument: its dotted path in the tool's arguments (`note`, `value.extra`). */
  param?: string;
}

/** sha256 of the canonical command: what an approval binds to. */
export function commandHash(tenantId: string, proposal: Pick<Proposal, 'deviceId' | 'kind' | 'name' | 'input'>): string {
  return sha256(canonicalJson({ tenant: tenantId, device: proposal.deviceId, kind: proposal.kind, name: proposal.name ?? '', input: proposal.input ?? null }));
}

/** The outcome of a settled command in words. */
export function describeOutcome(command: CommandRecord): string {
  switch (command.state) {
    case 'acked':
      return 'the device acknowledged the command';
    case 'failed':
      return command.error && isSystemError(command.error) ? command.error : 'the device reported that the command failed';
    case 'rejected':
      return 'the device rejected the command';
    case 'timed_out':
      return `the device did not answer within ${Math.round((command.deadline - command.createdAt) / 1000)} s`;
    default:
      return 'sent; waiting for the device';
  }
}

/** Reasons Nimbus itself wrote (a send that failed, a device that went away), as opposed to device text. */
export function isSystemError(error: string): boolean {
  return error.startsWith('could not send') || error.startsWith('the device went ') || error.startsWith('the device did not answer');
}
