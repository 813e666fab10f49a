/**
 * The command path behind the gateway: a read or a proposal is decided by the policy over the
 * facts every control plane shares (emergency stop, taint, caps, approvals presented), then
 * denied, parked for a human approval, or executed (`execute-command.ts`). The gateway is its
 * only caller; it keeps the transport, the tools and the device's messages.
 */
import type { Admission } from '../core/policy-state-store.js';
import type { CommandRecord } from '../core/device-store.js';
import { commandHash, type ActionReport } from './action-report.js';
import type { AuditContext } from './audit-log.js';
import type { DeviceCore } from './device-core.js';
import type { RegisteredDevice } from './device-registry.js';
import { executeCommand } from './execute-command.js';
import type { CapCheck } from './policy-state.js';
import { decide, isActuation, type Proposal } from './policy.js';
import { RateLimiter } from './rate-limiter.js';
import { actorOf, type ToolSession } from './tool-session.js';
import type { OutboundCommand } from './transport.js';
import { envelope, isUntrusted } from './untrusted.js';

/** The audit context of a session. */
export function sessionContext(session: ToolSession): AuditContext {
  return {
    tenantId: session.principal.tenantId,
    actor: actorOf(session.principal),
    keyId: session.principal.keyId,
    model: session.model,
    conversation: session.conversation,
    source: session.source,
  };
}

export class CommandPath {
  private readonly limiter: RateLimiter;

  constructor(
    private readonly core: DeviceCore,
    private readonly send: (command: OutboundCommand) => Promise<void>,
  ) {
    this.limiter = new RateLimiter(core.settings.rateLimit, core.clock);
  }

  /** Reads a device's live state; device text in it is marked, and marks the session untrusted. */
  async read(session: ToolSession, deviceId: string): Promise<ActionReport> {
    const { twins, audit } = this.core;
    const device = this.core.registry.get(session.principal.tenantId, deviceId);
    const verdict = decide({ deviceId, kind: 'read', input: undefined }, this.facts(session, device, deviceId, ''));
    if (verdict.verdict === 'deny') {
      await audit.append(sessionContext(session), 'denial', { deviceId, detail: { kind: 'read', reason: verdict.reason } });
      return { deviceId, kind: 'read', status: 'denied', reason: verdict.reason, message: verdict.message };
    }
    const twin = twins.get(session.principal.tenantId, deviceId);
    const events = twins.recentEvents(session.principal.tenantId, deviceId);
    const model = device!.model;
    const untrusted =
      Object.entries(twin.reported).some(([name, value]) => isUntrusted(value, model.properties[name]?.schema)) ||
      events.some((event) => isUntrusted(event.data, model.events[event.name]?.data));
    const state = {
      connection: twin.connection,
      reported: twin.reported,
      desired: twin.desired,
      version: twin.version,
      reported_at: twin.reportedAt === null ? null : new Date(twin.reportedAt).toISOString(),
      recent_events: events.map((event) => ({ name: event.name, data: event.data, at: new Date(event.at).toISOString() })),
    };
    if (untrusted) await this.taint(session, `device:${deviceId} state or events hold untrusted data`);
    await audit.append(sessionContext(session), 'read', { deviceId, detail: { version: twin.version, untrusted } });
    return { deviceId, kind: 'read', status: 'read', message: 'live state', data: envelope(`device:${deviceId}`, state, untrusted), untrusted };
  }

  /**
   * Decides and, if allowed, executes one proposal. With `wait` (the default) it resolves once the
   * device answered or the command timed out; otherwise once the command is sent.
   */
  async propose(session: ToolSession, given: Proposal, options: { tool?: string; wait?: boolean } = {}): Promise<ActionReport> {
    const { audit, approvals, policyState, estops } = this.core;
    const tenantId = session.principal.tenantId;
    const context = sessionContext(session);
    const device = this.core.registry.get(tenantId, given.deviceId);
    // An action whose input is an object gets `{}` when none is given, so hashes and checks see one form.
    const objectInput = given.kind === 'invoke' && device?.model.actions[given.name ?? '']?.input?.type === 'object';
    const proposal: Proposal = objectInput && given.input === undefined ? { ...given, input: {} } : given;
    const hash = commandHash(tenantId, proposal);
    const base = { deviceId: proposal.deviceId, kind: proposal.kind, ...(proposal.name ? { name: proposal.name } : {}), input: proposal.input };
    const proposed = {
      deviceId: proposal.deviceId,
      detail: {
        kind: proposal.kind,
        name: proposal.name,
        input: proposal.input,
        tool: options.tool,
        arguments: proposal.arguments,
        command_hash: hash,
        untrusted_context: session.untrusted,
      },
    };
    const facts = this.facts(session, device, proposal.deviceId, hash);
    // One store call for the state every control plane shares: the emergency stop as stored, the
    // taint that outlives a request, the conversation's devices (its cap counts them), and for an
    // actuation a step recorded and counted against the key's cap. The approvals presented are read beside it.
    const actuates = isActuation(device, proposal);
    const [admission, presented] = await Promise.all([
      proposal.kind === 'read' ? undefined : policyState.admit(session.principal, session.conversation, proposal.deviceId, actuates),
      session.approvals.length > 0 ? approvals.lookup(tenantId, session.approvals) : [],
    ]);
    facts.presented = presented;
    if (admission) {
      const stop = admission.emergencyStop;
      if (stop) {
        facts.emergencyStop = stop;
        // Engaged or cleared by another control plane: this one's view (GET /v1/estop) follows.
        if ((estops.get(tenantId)?.changedAt ?? -1) < stop.changedAt) estops.set(tenantId, stop);
      }
      facts.untrusted ||= admission.taint !== undefined;
      if (session.conversation) facts.touched = new Set([...session.touched, ...admission.conversationDevices]);
    }
    const verdict = decide(proposal, facts);
    const sends = verdict.verdict === 'allow' && verdict.actuation;
    // A step recorded for a command that is not sent (refused, or waiting for approval) does not count.
    if (admission?.step !== undefined && !sends) await policyState.give(admission.step);
    if (verdict.verdict === 'deny') {
      // The proposal and its denial are one refusal: written together, or past the key's rate folded together.
      await audit.refuse(context, [
        { event: 'proposal', ...proposed },
        { event: 'denial', deviceId: proposal.deviceId, detail: { reason: verdict.reason, message: verdict.message, command_hash: hash } },
      ]);
      return {
        ...base,
        status: 'denied',
        reason: verdict.reason,
        message: verdict.message,
        ...(verdict.retryAfterMs ? { retryAfterMs: verdict.retryAfterMs } : {}),
        ...(verdict.param ? { param: verdict.param } : {}),
      };
    }
    await audit.append(context, 'proposal', proposed);
    if (verdict.verdict === 'approve') {
      const counted = await policyState.take('approval_request', session.principal, session.conversation, proposal.deviceId);
      if (!counted.ok) {
        const message = `This key asked for ${counted.count} approvals in the last minute (at most ${counted.limit}); nothing was sent and no approval was requested. Wait a minute.`;
        await audit.append(context, 'denial', { deviceId: proposal.deviceId, detail: { reason: 'approval_rate_limited', message, command_hash: hash } });
        return { ...base, status: 'denied', reason: 'approval_rate_limited', message, retryAfterMs: 60_000 };
      }
      const approval = await approvals.request({
        tenantId,
        commandHash: hash,
        deviceId: proposal.deviceId,
        kind: proposal.kind as CommandRecord['kind'],
        name: proposal.name ?? '',
        input: proposal.input ?? null,
        risk: verdict.risk,
        reason: verdict.reason,
        requestedBy: session.principal.keyId,
        conversation: session.conversation,
        model: session.model,
      });
      await audit.append(context, 'approval_requested', {
        deviceId: proposal.deviceId,
        approvalId: approval.id,
        detail: { reason: verdict.reason, risk: verdict.risk, command_hash: hash },
      });
      const message = `${verdict.message} A human must run 'nimbus approvals grant ${approval.id}'; then the client sends the same command again presenting that approval.`;
      return { ...base, status: 'approval_required', risk: verdict.risk, approvalId: approval.id, message };
    }
    // At most actuationsPerKeyPerMinute per key, however they arrive (chat, MCP batches, new sessions, REST, other servers).
    const counted = sends ? await this.countActuation(session, proposal.deviceId, admission) : undefined;
    if (counted && !counted.ok) {
      const message = `This key made ${counted.count} actuations in the last minute (at most ${counted.limit}); nothing was sent. Wait a minute.`;
      await audit.append(context, 'denial', { deviceId: proposal.deviceId, detail: { reason: 'key_rate_limited', message, command_hash: hash } });
      return { ...base, status: 'denied', reason: 'key_rate_limited', message, retryAfterMs: 60_000 };
    }
    if (verdict.approvalId) {
      const approval = facts.presented.find((candidate) => candidate.id === verdict.approvalId)!;
      if (!(await approvals.redeem(approval, hash, session.principal.keyId))) {
        const message = `Approval '${approval.id}' could not be used: it was used or lapsed a moment ago.`;
        await audit.append(context, 'denial', { deviceId: proposal.deviceId, approvalId: approval.id, detail: { reason: 'approval_used', message } });
        if (counted?.ok) await policyState.give(counted.step);
        return { ...base, status: 'denied', reason: 'approval_used', message };
      }
      await audit.append(context, 'approval_redeemed', { deviceId: proposal.deviceId, approvalId: approval.id, detail: { command_hash: hash } });
    }
    this.limiter.take(`${tenantId}/${proposal.deviceId}`);
    if (verdict.actuation) session.touched.add(proposal.deviceId);
    const sent = await executeCommand(this.core, this.send, context, session, {
      proposal,
      hash,
      risk: verdict.risk,
      approvalId: verdict.approvalId ?? null,
      wait: options.wait ?? true,
    });
    if (sent.untrusted) await this.taint(session, `device:${proposal.deviceId} answered with untrusted data`);
    return sent;
  }

  /**
   * Marks a session untrusted and taints its key and conversation in the store for the taint
   * window, so a new request, a new MCP session or another control plane sees it; a device that
   * keeps sending text keeps extending it. Audited when the session turns untrusted.
   */
  async taint(session: ToolSession, reason: string): Promise<void> {
    const first = !session.untrusted;
    session.untrusted = true;
    const taints = await this.core.policyState.mark(session.principal, session.conversation, reason);
    if (first)
      await this.core.audit.append(sessionContext(session), 'taint', {
        detail: { reason, subjects: taints.map((taint) => taint.subject), until: taints[0]?.until },
      });
  }

  /**
   * The key's actuation as `admit` recorded and counted it (given back when over the cap), or
   * recorded now where it was not (a proposal `isActuation` did not foresee as one).
   */
  private async countActuation(session: ToolSession, deviceId: string, admission: (Admission & { limit: number }) | undefined): Promise<CapCheck> {
    const { policyState } = this.core;
    if (admission?.step === undefined) return policyState.take('actuation', session.principal, session.conversation, deviceId);
    if (admission.count <= admission.limit) return { ok: true, step: admission.step };
    await policyState.give(admission.step);
    return { ok: false, count: admission.count - 1, limit: admission.limit };
  }

  /** What the policy decides on, as this control plane knows it before the store is asked. */
  private facts(session: ToolSession, device: RegisteredDevice | undefined, deviceId: string, hash: string): Parameters<typeof decide>[1] {
    const tenantId = session.principal.tenantId;
    const twin = this.core.twins.get(tenantId, deviceId);
    return {
      now: this.core.clock.now(),
      principal: session.principal,
      model: device?.model,
      connection: twin.connection,
      reported: twin.reported,
      emergencyStop: this.core.estops.get(tenantId),
      untrusted: session.untrusted,
      touched: session.touched,
      planned: session.planned,
      maxDevices: this.core.settings.maxDevicesPerRequest,
      rateWaitMs: this.limiter.waitMs(`${tenantId}/${deviceId}`),
      commandHash: hash,
      presented: [],
    };
  }
}
