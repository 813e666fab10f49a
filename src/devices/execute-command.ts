/**
 * Executing an allowed command: persisted as pending, audited with the state before, sent through
 * the transport, and reported from the device's answer and reported state (never the proposer's
 * word). Whatever the device said back is checked against its thing model for untrusted data;
 * the gateway then taints the session (`untrusted` in the report).
 */
import type { CommandRecord, RiskTier } from '../core/device-store.js';
import { newId } from '../core/ids.js';
import { describeOutcome, isSystemError, type ActionReport } from './action-report.js';
import type { AuditContext } from './audit-log.js';
import type { DeviceCore } from './device-core.js';
import type { Proposal } from './policy.js';
import type { ToolSession } from './tool-session.js';
import type { OutboundCommand } from './transport.js';
import { isUntrusted } from './untrusted.js';

/** Executes one allowed proposal; with `wait`, resolves once the device answered or the command timed out. */
export async function executeCommand(
  core: DeviceCore,
  send: (command: OutboundCommand) => Promise<void>,
  context: AuditContext,
  session: ToolSession,
  what: { proposal: Proposal; hash: string; risk: RiskTier; approvalId: string | null; wait: boolean },
): Promise<ActionReport> {
  const { proposal, hash, risk, approvalId, wait } = what;
  const { twins, tracker, audit, store, registry, settings, clock } = core;
  const tenantId = session.principal.tenantId;
  const { deviceId } = proposal;
  const name = proposal.name ?? '';
  const now = clock.now();
  const stateBefore = { ...twins.get(tenantId, deviceId).reported };
  const command: CommandRecord = {
    id: newId('cmd_'),
    tenantId,
    deviceId,
    kind: proposal.kind as CommandRecord['kind'],
    name,
    input: proposal.input ?? null,
    hash,
    state: 'pending',
    createdAt: now,
    updatedAt: now,
    deadline: now + settings.commandTimeoutMs,
    output: null,
    error: null,
    keyId: session.principal.keyId,
    model: session.model,
    conversation: session.conversation,
    approvalId,
  };
  await tracker.begin(command);
  const settled = tracker.wait(command.id);
  await audit.append(context, 'execution', {
    deviceId,
    commandId: command.id,
    approvalId,
    detail: { kind: command.kind, name, input: command.input, risk, state_before: stateBefore },
  });
  const outbound: OutboundCommand = {
    id: command.id,
    to: { tenantId, deviceId },
    kind: command.kind,
    name,
    value: command.input,
    deadline: command.deadline,
  };
  // A broker that is away would hold the publish until it returns: the deadline still settles the command.
  const sent = send(outbound).catch((error: unknown) => tracker.fail(command.id, `could not send: ${(error as Error).message}`));
  const base = { deviceId, kind: proposal.kind, name, input: command.input, risk, commandId: command.id, ...(approvalId ? { approvalId } : {}), stateBefore };
  if (!wait) {
    await Promise.race([sent, settled]);
    const current = tracker.pending(command.id) ?? (await store.getCommand(tenantId, command.id)) ?? command;
    return { ...base, status: current.state, message: current.state === 'pending' ? 'sent; waiting for the device' : describeOutcome(current) };
  }
  const final = (await settled) ?? command;
  const stateAfter = { ...twins.get(tenantId, deviceId).reported };
  const deviceError = final.error && (final.state === 'rejected' || (final.state === 'failed' && !isSystemError(final.error))) ? final.error : undefined;
  // Whatever the device said back (output, error, reported state) is device text: it may carry an injection.
  const model = registry.get(tenantId, deviceId)?.model;
  const outputSchema = command.kind === 'invoke' ? model?.actions[name]?.output : undefined;
  const untrusted =
    isUntrusted(final.output, outputSchema) ||
    deviceError !== undefined ||
    Object.entries(stateAfter).some(([property, value]) => isUntrusted(value, model?.properties[property]?.schema));
  return {
    ...base,
    status: final.state,
    message: describeOutcome(final),
    ...(final.output !== null && final.output !== undefined ? { output: final.output } : {}),
    ...(deviceError ? { error: deviceError } : {}),
    stateAfter,
    ...(untrusted ? { untrusted } : {}),
  };
}
