/**
 * The device gateway: the one path from a proposal (a model's tool call, an MCP call, a REST
 * request) to a device, and from a device's messages to its twin. Every proposal is audited,
 * decided by the policy, and either denied, parked for a human approval, or sent as a command
 * whose outcome comes from the device's answer and reported state, never from the proposer.
 */
import type { Clock } from '../core/clock.js';
import type { Admission, IdempotencyRecord } from '../core/policy-state-store.js';
import type { CommandRecord, DeviceStore, EmergencyStop, TwinRecord } from '../core/device-store.js';
import { allows, type Principal } from '../core/principal.js';
import type { ApprovalDesk } from './approval-desk.js';
import type { AuditContext, AuditLog } from './audit-log.js';
import { commandHash, type ActionReport } from './action-report.js';
import type { CommandTracker } from './command-tracker.js';
import type { DeviceChange, DeviceCore } from './device-core.js';
import type { DeviceLogger } from './device-logger.js';
import type { DeviceRegistry, RegisteredDevice } from './device-registry.js';
import type { DeviceSettings } from './device-settings.js';
import { executeCommand } from './execute-command.js';
import { keySubject, type CapCheck } from './policy-state.js';
import { commandInput, deviceTools, parseToolName, type DeviceTool } from './device-tools.js';
import { decide, isActuation, type Proposal } from './policy.js';
import { RateLimiter } from './rate-limiter.js';
import { actorOf, type ToolSession } from './tool-session.js';
import type { RecentEvent, TwinBook } from './twin-book.js';
import type { DeviceAddress, DeviceTransport, InboundMessage, OutboundCommand, TransportHost } from './transport.js';
import { envelope, isUntrusted } from './untrusted.js';

export type { DeviceChange } from './device-core.js';

/** How long an `Idempotency-Key`'s answer is kept. */
const idempotencyTtlMs = 24 * 3_600_000;
export type { ActionReport } from './action-report.js';
export { commandHash } from './action-report.js';

export class DeviceGateway implements TransportHost {
  private readonly registry: DeviceRegistry;
  private readonly twins: TwinBook;
  private readonly approvals: ApprovalDesk;
  private readonly audit: AuditLog;
  private readonly tracker: CommandTracker;
  private readonly settings: DeviceSettings;
  private readonly estops: Map<string, EmergencyStop>;
  private readonly store: DeviceStore;
  private readonly clock: Clock;
  private readonly logger: DeviceLogger;
  private readonly limiter: RateLimiter;
  private transport: DeviceTransport | undefined;
  /** Messages from devices nobody registered (counted, then dropped). */
  private unknownMessages = 0;

  constructor(private readonly core: DeviceCore) {
    this.registry = core.registry;
    this.twins = core.twins;
    this.approvals = core.approvals;
    this.audit = core.audit;
    this.tracker = core.tracker;
    this.settings = core.settings;
    this.estops = core.estops;
    this.store = core.store;
    this.clock = core.clock;
    this.logger = core.logger;
    this.limiter = new RateLimiter(this.settings.rateLimit, this.clock);
  }

  /** Calls `watcher` with every twin change and audit entry (the live feed); returns the function that stops it. */
  watch(watcher: (change: DeviceChange) => void): () => void {
    return this.core.watch(watcher);
  }

  /**
   * Connects the transport with this gateway as its host, then re-arms commands left pending by
   * a restart and tells devices of the emergency stops in force.
   */
  async attach(transport: DeviceTransport): Promise<void> {
    // A transport that starts knowing no device: connections stay unknown until each device speaks.
    if (transport.startsEmpty)
      for (const twin of this.twins.list()) if (twin.connection !== 'unknown') this.twins.connection(twin.tenantId, twin.deviceId, 'unknown');
    await transport.connect(this);
    this.transport = transport;
    await this.tracker.recover(await this.store.listCommands({ states: ['pending'], limit: 100_000 }));
    for (const stop of this.estops.values()) if (stop.active) await this.publishEmergencyStop(stop);
  }

  /** Stops timers and writes what is buffered. */
  async close(): Promise<void> {
    this.tracker.close();
    await this.twins.flush();
    // Refusals still being counted are written now: nothing folded is lost at shutdown.
    await this.audit.close();
  }

  /** Writes buffered twin changes and waits for pending audit entries. */
  async flush(): Promise<void> {
    await this.twins.flush();
    await this.audit.settle();
  }

  /** A device's twin (empty if it never reported). */
  twin(tenantId: string, deviceId: string): TwinRecord {
    return this.twins.get(tenantId, deviceId);
  }

  /** Events a device sent lately, oldest first. */
  recentEvents(tenantId: string, deviceId: string): RecentEvent[] {
    return this.twins.recentEvents(tenantId, deviceId);
  }

  /** Messages taken in since start: reported states applied, and messages from unknown devices (dropped). */
  get telemetry(): { applied: number; unknown: number } {
    return { applied: this.twins.applied, unknown: this.unknownMessages };
  }

  /** The tools of the devices a principal may use; `selection` narrows them to some device ids. */
  tools(principal: Principal, selection: true | readonly string[] = true): DeviceTool[] {
    return this.registry
      .list(principal.tenantId)
      .filter((device) => allows(principal.scopes.devices, device.record.id) && (selection === true || selection.includes(device.record.id)))
      .flatMap((device) => deviceTools(device.record.id, device.model));
  }

  /** Runs one tool call: a read or a proposal, by tool name. */
  async callTool(session: ToolSession, name: string, args: unknown): Promise<ActionReport> {
    const parsed = parseToolName(name);
    const device = parsed && this.visible(session.principal, parsed.deviceId);
    const tool = device && deviceTools(device.record.id, device.model).find((candidate) => candidate.name === name);
    if (!parsed || !tool) {
      const deviceId = parsed?.deviceId ?? name;
      const report: ActionReport = {
        tool: name,
        deviceId,
        kind: 'invoke',
        status: 'denied',
        reason: 'out_of_scope',
        message: `No tool '${name}' is available to this key.`,
      };
      await this.audit.append(this.context(session), 'denial', {
        deviceId: parsed?.deviceId ?? null,
        detail: { tool: name, arguments: args, reason: report.reason },
      });
      return report;
    }
    const argumentsObject = args !== null && typeof args === 'object' && !Array.isArray(args) ? (args as Record<string, unknown>) : {};
    const target = tool.target;
    if (target.kind === 'read') return { ...(await this.read(session, target.deviceId)), tool: name };
    const proposal: Proposal = {
      deviceId: target.deviceId,
      kind: target.kind,
      name: target.name,
      input: commandInput(target, argumentsObject),
      arguments: argumentsObject,
    };
    return { ...(await this.propose(session, proposal, { tool: name })), tool: name };
  }

  /** Audits an attempt to approve from inside a session (an MCP approval response, a model's output): it never counts. */
  async refuseApprovalClaim(session: ToolSession, where: string, detail: unknown): Promise<void> {
    await this.audit.append(this.context(session), 'denial', { detail: { reason: 'approval_in_model_output', where, claim: detail } });
  }

  /** Reads a device's live state; device text in it is marked, and marks the session untrusted. */
  async read(session: ToolSession, deviceId: string): Promise<ActionReport> {
    const device = this.registry.get(session.principal.tenantId, deviceId);
    const verdict = decide({ deviceId, kind: 'read', input: undefined }, this.facts(session, device, deviceId, ''));
    if (verdict.verdict === 'deny') {
      await this.audit.append(this.context(session), 'denial', { deviceId, detail: { kind: 'read', reason: verdict.reason } });
      return { deviceId, kind: 'read', status: 'denied', reason: verdict.reason, message: verdict.message };
    }
    const twin = this.twins.get(session.principal.tenantId, deviceId);
    const events = this.twins.recentEvents(session.principal.tenantId, deviceId);
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
    await this.audit.append(this.context(session), 'read', { deviceId, detail: { version: twin.version, untrusted } });
    return { deviceId, kind: 'read', status: 'read', message: 'live state', data: envelope(`device:${deviceId}`, state, untrusted), untrusted };
  }

  /**
   * Decides and, if allowed, executes one proposal. With `wait` (the default) it resolves once the
   * device answered or the command timed out; otherwise once the command is sent.
   */
  async propose(session: ToolSession, given: Proposal, options: { tool?: string; wait?: boolean } = {}): Promise<ActionReport> {
    const tenantId = session.principal.tenantId;
    const context = this.context(session);
    const device = this.registry.get(tenantId, given.deviceId);
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
      proposal.kind === 'read' ? undefined : this.core.policyState.admit(session.principal, session.conversation, proposal.deviceId, actuates),
      session.approvals.length > 0 ? this.approvals.lookup(tenantId, session.approvals) : [],
    ]);
    facts.presented = presented;
    if (admission) {
      const stop = admission.emergencyStop;
      if (stop) {
        facts.emergencyStop = stop;
        // Engaged or cleared by another control plane: this one's view (GET /v1/estop) follows.
        if ((this.estops.get(tenantId)?.changedAt ?? -1) < stop.changedAt) this.estops.set(tenantId, stop);
      }
      facts.untrusted ||= admission.taint !== undefined;
      if (session.conversation) facts.touched = new Set([...session.touched, ...admission.conversationDevices]);
    }
    const verdict = decide(proposal, facts);
    const sends = verdict.verdict === 'allow' && verdict.actuation;
    // A step recorded for a command that is not sent (refused, or waiting for approval) does not count.
    if (admission?.step !== undefined && !sends) await this.core.policyState.give(admission.step);
    if (verdict.verdict === 'deny') {
      // The proposal and its denial are one refusal: written together, or past the key's rate folded together.
      await this.audit.refuse(context, [
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
    await this.audit.append(context, 'proposal', proposed);
    if (verdict.verdict === 'approve') {
      const counted = await this.core.policyState.take('approval_request', session.principal, session.conversation, proposal.deviceId);
      if (!counted.ok) {
        const message = `This key asked for ${counted.count} approvals in the last minute (at most ${counted.limit}); nothing was sent and no approval was requested. Wait a minute.`;
        await this.audit.append(context, 'denial', { deviceId: proposal.deviceId, detail: { reason: 'approval_rate_limited', message, command_hash: hash } });
        return { ...base, status: 'denied', reason: 'approval_rate_limited', message, retryAfterMs: 60_000 };
      }
      const approval = await this.approvals.request({
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
      await this.audit.append(context, 'approval_requested', {
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
      await this.audit.append(context, 'denial', { deviceId: proposal.deviceId, detail: { reason: 'key_rate_limited', message, command_hash: hash } });
      return { ...base, status: 'denied', reason: 'key_rate_limited', message, retryAfterMs: 60_000 };
    }
    if (verdict.approvalId) {
      const approval = facts.presented.find((candidate) => candidate.id === verdict.approvalId)!;
      if (!(await this.approvals.redeem(approval, hash, session.principal.keyId))) {
        const message = `Approval '${approval.id}' could not be used: it was used or lapsed a moment ago.`;
        await this.audit.append(context, 'denial', { deviceId: proposal.deviceId, approvalId: approval.id, detail: { reason: 'approval_used', message } });
        if (counted?.ok) await this.core.policyState.give(counted.step);
        return { ...base, status: 'denied', reason: 'approval_used', message };
      }
      await this.audit.append(context, 'approval_redeemed', { deviceId: proposal.deviceId, approvalId: approval.id, detail: { command_hash: hash } });
    }
    this.limiter.take(`${tenantId}/${proposal.deviceId}`);
    if (verdict.actuation) session.touched.add(proposal.deviceId);
    const sent = await executeCommand(this.core, (command) => this.send(command), this.context(session), session, {
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
   * The key's actuation as `admit` recorded and counted it (given back when over the cap), or
   * recorded now where it was not (a proposal `isActuation` did not foresee as one).
   */
  private async countActuation(session: ToolSession, deviceId: string, admission: (Admission & { limit: number }) | undefined): Promise<CapCheck> {
    if (admission?.step === undefined) return this.core.policyState.take('actuation', session.principal, session.conversation, deviceId);
    if (admission.count <= admission.limit) return { ok: true, step: admission.step };
    await this.core.policyState.give(admission.step);
    return { ok: false, count: admission.count - 1, limit: admission.limit };
  }

  /** Takes in one message a device sent, as the transport vouches for its sender (TransportHost). */
  receive(message: InboundMessage): void {
    const { tenantId, deviceId } = message.from;
    const device = this.registry.get(tenantId, deviceId);
    if (!device) {
      this.unknownMessages += 1;
      return;
    }
    switch (message.kind) {
      case 'connection':
        this.twins.connection(tenantId, deviceId, message.state);
        if (message.state === 'lost' || message.state === 'offline') {
          void this.tracker
            .failDevice(message.from, message.state)
            .catch((error: unknown) => this.logger.error({ err: error }, 'could not fail the commands of a lost device'));
        }
        return;
      case 'reported':
      case 'desired': {
        // Only declared properties with valid values reach the twin: a device cannot invent state.
        const accepted: Record<string, unknown> = {};
        for (const [name, value] of Object.entries(message.values)) if (device.model.properties[name]?.validate(value) === undefined) accepted[name] = value;
        if (message.kind === 'reported') this.twins.report(tenantId, deviceId, accepted);
        else this.twins.desireOnce(message.commandId, tenantId, deviceId, accepted);
        return;
      }
      case 'event':
        if (!device.model.events[message.name]) return;
        this.twins.event(tenantId, deviceId, message.name, message.data);
        return;
      case 'ack':
        void this.tracker
          .answer(message.commandId, message.from, message.status, message.output, message.error ?? null)
          .catch((error: unknown) => this.logger.error({ err: error }, 'could not record a command answer'));
        return;
    }
  }

  /**
   * Claims an `Idempotency-Key` of a key for 24 hours: undefined when this request holds it now,
   * else what the first request with it left (running, or its stored answer).
   */
  claimIdempotency(principal: Principal, key: string, requestHash: string): Promise<IdempotencyRecord | undefined> {
    const now = this.clock.now();
    const subject = keySubject(principal);
    return this.store.claimIdempotency({
      tenantId: principal.tenantId,
      keySubject: subject,
      key,
      requestHash,
      state: 'running',
      status: null,
      body: null,
      createdAt: now,
      expiresAt: now + idempotencyTtlMs,
    });
  }

  /** Stores the answer of a claimed key, or frees it when nothing happened (so a retry runs). */
  settleIdempotency(principal: Principal, key: string, answer: { status: number; body: unknown } | undefined): Promise<void> {
    const subject = keySubject(principal);
    return answer
      ? this.store.finishIdempotency(principal.tenantId, subject, key, answer.status, answer.body)
      : this.store.releaseIdempotency(principal.tenantId, subject, key);
  }

  /** Whether `secret` is the device's own, for a transport that checks device logins itself (TransportHost). */
  authenticate(device: DeviceAddress, secret: string): boolean {
    return this.registry.verifySecret(device.tenantId, device.deviceId, secret);
  }

  /** Records a tenant's emergency stop and tells its devices, so they halt and late joiners learn it. */
  async publishEmergencyStop(stop: EmergencyStop): Promise<void> {
    this.estops.set(stop.tenantId, stop);
    await this.transport?.announceEmergencyStop(stop);
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
      await this.audit.append(this.context(session), 'taint', { detail: { reason, subjects: taints.map((taint) => taint.subject), until: taints[0]?.until } });
  }

  /** The audit context of a session. */
  private context(session: ToolSession): AuditContext {
    return {
      tenantId: session.principal.tenantId,
      actor: actorOf(session.principal),
      keyId: session.principal.keyId,
      model: session.model,
      conversation: session.conversation,
      source: session.source,
    };
  }

  /** A device the principal may see, or undefined. */
  visible(principal: Principal, deviceId: string): RegisteredDevice | undefined {
    const device = this.registry.get(principal.tenantId, deviceId);
    return device && allows(principal.scopes.devices, deviceId) ? device : undefined;
  }

  private facts(session: ToolSession, device: RegisteredDevice | undefined, deviceId: string, hash: string): Parameters<typeof decide>[1] {
    const tenantId = session.principal.tenantId;
    return {
      now: this.clock.now(),
      principal: session.principal,
      model: device?.model,
      connection: this.twins.get(tenantId, deviceId).connection,
      reported: this.twins.get(tenantId, deviceId).reported,
      emergencyStop: this.estops.get(tenantId),
      untrusted: session.untrusted,
      touched: session.touched,
      planned: session.planned,
      maxDevices: this.settings.maxDevicesPerRequest,
      rateWaitMs: this.limiter.waitMs(`${tenantId}/${deviceId}`),
      commandHash: hash,
      presented: [],
    };
  }

  private async send(command: OutboundCommand): Promise<void> {
    if (!this.transport) throw new Error('devices are not connected to their transport');
    await this.transport.send(command);
    // Recorded when seen on the transport (in order with the device's messages), or else now.
    if (command.kind === 'set') this.twins.desireOnce(command.id, command.to.tenantId, command.to.deviceId, { [command.name]: command.value });
  }
}
