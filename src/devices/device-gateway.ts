/**
 * The device gateway: the one path from a proposal (a model's tool call, an MCP call, a REST
 * request) to a device, and from a device's messages to its twin. Every proposal is audited,
 * decided by the policy, and either denied, parked for a human approval, or sent as a command
 * whose outcome comes from the device's answer and reported state, never from the proposer.
 */
import { systemClock, type Clock } from '../core/clock.js';
import type { AuditEntry, CommandRecord, DeviceStore, EmergencyStop, RiskTier, TwinRecord } from '../core/device-store.js';
import { newId } from '../core/ids.js';
import { allows, type Principal } from '../core/principal.js';
import { ApprovalDesk } from './approval-desk.js';
import { AuditLog, type AuditContext } from './audit-log.js';
import { canonicalJson, sha256 } from './canonical-json.js';
import { CommandTracker } from './command-tracker.js';
import { DeviceRegistry, type RegisteredDevice } from './device-registry.js';
import { silentLogger, type DeviceLogger } from './device-logger.js';
import type { DeviceSettings } from './device-settings.js';
import { commandInput, deviceTools, parseToolName, type DeviceTool } from './device-tools.js';
import { decide, type DenialReason, type Proposal } from './policy.js';
import { parseConnection, parseObject, parseReply, type CommandMessage } from './protocol.js';
import { RateLimiter } from './rate-limiter.js';
import type { TopicTree } from './topics.js';
import { actorOf, type ToolSession } from './tool-session.js';
import { TwinBook } from './twin-book.js';
import { envelope, hasFreeText } from './untrusted.js';

/** How commands leave: an MQTT connection (or a test double). */
export interface DeviceTransport {
  /** 4 (MQTT 3.1.1) or 5. */
  readonly protocolVersion: number;
  publish(topic: string, payload: string, options?: PublishOptions): Promise<void>;
}

/** Publish options; the MQTT 5 ones are dropped on 3.1.1. */
export interface PublishOptions {
  retain?: boolean;
  responseTopic?: string;
  correlation?: string;
  expirySeconds?: number;
}

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
}

/** What changed, for watchers such as the live feed: a twin (after the change) or a stored audit entry. */
export type DeviceChange = { kind: 'twin'; twin: TwinRecord } | { kind: 'audit'; entry: AuditEntry };

export interface DeviceGatewayOptions {
  store: DeviceStore;
  topics: TopicTree;
  settings: DeviceSettings;
  clock?: Clock;
  logger?: DeviceLogger;
}

export class DeviceGateway {
  readonly registry: DeviceRegistry;
  readonly twins: TwinBook;
  readonly approvals: ApprovalDesk;
  readonly audit: AuditLog;
  readonly tracker: CommandTracker;
  readonly topics: TopicTree;
  readonly settings: DeviceSettings;
  readonly estops = new Map<string, EmergencyStop>();
  readonly store: DeviceStore;
  readonly clock: Clock;
  private readonly logger: DeviceLogger;
  private readonly limiter: RateLimiter;
  private transport: DeviceTransport | undefined;
  /** Messages on our topics from devices nobody registered (counted, then dropped). */
  unknownMessages = 0;
  private readonly watchers = new Set<(change: DeviceChange) => void>();

  constructor(options: DeviceGatewayOptions) {
    this.store = options.store;
    this.topics = options.topics;
    this.settings = options.settings;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.registry = new DeviceRegistry(this.store, this.clock);
    this.twins = new TwinBook(this.store, this.clock, undefined, (twin) => this.notify({ kind: 'twin', twin }));
    this.approvals = new ApprovalDesk(this.store, this.clock, { requestMs: this.settings.approvalRequestTtlMs, grantMs: this.settings.approvalTtlMs });
    this.audit = new AuditLog(this.store, this.clock, (entry) => this.notify({ kind: 'audit', entry }));
    this.tracker = new CommandTracker(this.store, this.clock, (command, settledBy) => this.recordOutcome(command, settledBy));
    this.limiter = new RateLimiter(this.settings.rateLimit, this.clock);
  }

  /** Calls `watcher` with every twin change and audit entry (the live feed); returns the function that stops it. */
  watch(watcher: (change: DeviceChange) => void): () => void {
    this.watchers.add(watcher);
    return () => {
      this.watchers.delete(watcher);
    };
  }

  private notify(change: DeviceChange): void {
    for (const watcher of this.watchers) {
      try {
        watcher(change);
      } catch (error) {
        // A watcher must never break telemetry or the audit chain.
        this.logger.warn({ detail: (error as Error).message }, 'a device watcher failed');
      }
    }
  }

  /** Loads devices, twins and emergency stops from the store. */
  async load(): Promise<void> {
    for (const problem of await this.registry.load()) this.logger.warn({}, `skipping a stored device: ${problem}`);
    await this.twins.load();
    for (const stop of await this.store.listEmergencyStops()) this.estops.set(stop.tenantId, stop);
  }

  /** Connects the gateway to its transport; then re-arms commands left pending by a restart. */
  async attach(transport: DeviceTransport): Promise<void> {
    this.transport = transport;
    await this.tracker.recover(await this.store.listCommands({ states: ['pending'], limit: 100_000 }));
    for (const stop of this.estops.values()) if (stop.active) await this.publishEmergencyStop(stop);
  }

  /** Stops timers and writes what is buffered. */
  async close(): Promise<void> {
    this.tracker.close();
    await this.twins.flush();
    await this.audit.settle();
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
      Object.entries(twin.reported).some(([name, value]) => hasFreeText(value, model.properties[name]?.schema)) ||
      events.some((event) => hasFreeText(event.data, model.events[event.name]?.data));
    const state = {
      connection: twin.connection,
      reported: twin.reported,
      desired: twin.desired,
      version: twin.version,
      reported_at: twin.reportedAt === null ? null : new Date(twin.reportedAt).toISOString(),
      recent_events: events.map((event) => ({ name: event.name, data: event.data, at: new Date(event.at).toISOString() })),
    };
    if (untrusted) session.untrusted = true;
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
    await this.audit.append(context, 'proposal', {
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
    });
    const facts = this.facts(session, device, proposal.deviceId, hash);
    facts.presented = session.approvals.length > 0 ? await this.approvals.lookup(tenantId, session.approvals) : [];
    const verdict = decide(proposal, facts);
    if (verdict.verdict === 'deny') {
      await this.audit.append(context, 'denial', {
        deviceId: proposal.deviceId,
        detail: { reason: verdict.reason, message: verdict.message, command_hash: hash },
      });
      return {
        ...base,
        status: 'denied',
        reason: verdict.reason,
        message: verdict.message,
        ...(verdict.retryAfterMs ? { retryAfterMs: verdict.retryAfterMs } : {}),
      };
    }
    if (verdict.verdict === 'approve') {
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
    if (verdict.approvalId) {
      const approval = facts.presented.find((candidate) => candidate.id === verdict.approvalId)!;
      if (!(await this.approvals.redeem(approval, hash, session.principal.keyId))) {
        const message = `Approval '${approval.id}' could not be used: it was used or lapsed a moment ago.`;
        await this.audit.append(context, 'denial', { deviceId: proposal.deviceId, approvalId: approval.id, detail: { reason: 'approval_used', message } });
        return { ...base, status: 'denied', reason: 'approval_used', message };
      }
      await this.audit.append(context, 'approval_redeemed', { deviceId: proposal.deviceId, approvalId: approval.id, detail: { command_hash: hash } });
    }
    this.limiter.take(`${tenantId}/${proposal.deviceId}`);
    if (verdict.actuation) session.touched.add(proposal.deviceId);
    return this.execute(session, proposal, hash, verdict.risk, verdict.approvalId ?? null, options.wait ?? true);
  }

  /** Handles a message a device published on our topics. */
  receive(topic: string, payload: Buffer, correlation?: string): void {
    const parsed = this.topics.parse(topic);
    if (!parsed) return;
    const device = this.registry.get(parsed.tenantId, parsed.deviceId);
    if (!device) {
      this.unknownMessages += 1;
      return;
    }
    const { tenantId, deviceId } = parsed;
    switch (parsed.channel) {
      case 'state':
        this.twins.connection(tenantId, deviceId, parseConnection(payload));
        return;
      case 'reported': {
        const values = parseObject(payload);
        if (!values) return;
        // Only declared properties with valid values reach the twin: a device cannot invent state.
        const accepted: Record<string, unknown> = {};
        for (const [name, value] of Object.entries(values)) if (device.model.properties[name]?.validate(value) === undefined) accepted[name] = value;
        this.twins.report(tenantId, deviceId, accepted);
        return;
      }
      case 'event':
        if (!device.model.events[parsed.name ?? '']) return;
        this.twins.event(tenantId, deviceId, parsed.name!, parseObject(payload) ?? payload.toString().slice(0, 2000));
        return;
      case 'reply': {
        const reply = parseReply(payload, correlation);
        if (reply)
          void this.tracker
            .answer(reply.id, parsed, reply.status, reply.output, reply.error ?? null)
            .catch((error: unknown) => this.logger.error({ err: error }, 'could not record a command answer'));
        return;
      }
      default:
        return;
    }
  }

  /** Checks a device's MQTT login (`TENANT/DEVICE` and its secret) for the embedded broker. */
  authenticate(username: string, password: string): { tenantId: string; deviceId: string } | undefined {
    const slash = username.indexOf('/');
    if (slash <= 0) return undefined;
    const tenantId = username.slice(0, slash);
    const deviceId = username.slice(slash + 1);
    return this.registry.verifySecret(tenantId, deviceId, password) ? { tenantId, deviceId } : undefined;
  }

  /** Publishes a tenant's emergency stop, retained, so devices halt and late joiners learn it. */
  async publishEmergencyStop(stop: EmergencyStop): Promise<void> {
    this.estops.set(stop.tenantId, stop);
    await this.transport?.publish(this.topics.estop(stop.tenantId), JSON.stringify({ active: stop.active, reason: stop.reason, at: stop.changedAt }), {
      retain: true,
    });
  }

  /** The audit context of a session. */
  context(session: ToolSession): AuditContext {
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

  private async execute(
    session: ToolSession,
    proposal: Proposal,
    hash: string,
    risk: RiskTier,
    approvalId: string | null,
    wait: boolean,
  ): Promise<ActionReport> {
    const tenantId = session.principal.tenantId;
    const { deviceId } = proposal;
    const name = proposal.name ?? '';
    const now = this.clock.now();
    const stateBefore = { ...this.twins.get(tenantId, deviceId).reported };
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
      deadline: now + this.settings.commandTimeoutMs,
      output: null,
      error: null,
      keyId: session.principal.keyId,
      model: session.model,
      conversation: session.conversation,
      approvalId,
    };
    if (command.kind === 'set') this.twins.desire(tenantId, deviceId, { [name]: proposal.input });
    await this.tracker.begin(command);
    const settled = this.tracker.wait(command.id);
    await this.audit.append(this.context(session), 'execution', {
      deviceId,
      commandId: command.id,
      approvalId,
      detail: { kind: command.kind, name, input: command.input, risk, state_before: stateBefore },
    });
    const replyTo = this.topics.replies(tenantId, deviceId);
    const message: CommandMessage = {
      id: command.id,
      replyTo,
      deadline: command.deadline,
      ...(command.kind === 'set' ? { desired: { [name]: proposal.input } } : { input: command.input }),
    };
    const topic = command.kind === 'set' ? this.topics.set(tenantId, deviceId) : this.topics.action(tenantId, deviceId, name);
    // A broker that is away would hold the publish until it returns: the deadline still settles the command.
    const sent = this.send(topic, message).catch((error: unknown) => this.tracker.fail(command.id, `could not send: ${(error as Error).message}`));
    const base = { deviceId, kind: proposal.kind, name, input: command.input, risk, commandId: command.id, ...(approvalId ? { approvalId } : {}), stateBefore };
    if (!wait) {
      await Promise.race([sent, settled]);
      const current = this.tracker.pending(command.id) ?? (await this.store.getCommand(tenantId, command.id)) ?? command;
      return { ...base, status: current.state, message: current.state === 'pending' ? 'sent; waiting for the device' : describeOutcome(current) };
    }
    const final = (await settled) ?? command;
    const stateAfter = { ...this.twins.get(tenantId, deviceId).reported };
    const deviceError =
      final.error && (final.state === 'rejected' || (final.state === 'failed' && !final.error.startsWith('could not send'))) ? final.error : undefined;
    // Whatever the device said back (output, error, reported state) is device text: it may carry an injection.
    const model = this.registry.get(tenantId, deviceId)?.model;
    const outputSchema = command.kind === 'invoke' ? model?.actions[name]?.output : undefined;
    const untrusted =
      hasFreeText(final.output, outputSchema) ||
      deviceError !== undefined ||
      Object.entries(stateAfter).some(([property, value]) => hasFreeText(value, model?.properties[property]?.schema));
    if (untrusted) session.untrusted = true;
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

  private async send(topic: string, message: CommandMessage): Promise<void> {
    if (!this.transport) throw new Error('devices are not connected to an MQTT broker');
    await this.transport.publish(topic, JSON.stringify(message), {
      responseTopic: message.replyTo,
      correlation: message.id,
      expirySeconds: Math.ceil(this.settings.commandTimeoutMs / 1000),
    });
  }

  private async recordOutcome(command: CommandRecord, settledBy: string): Promise<void> {
    const context: AuditContext = {
      tenantId: command.tenantId,
      actor: settledBy,
      keyId: command.keyId,
      model: command.model,
      conversation: command.conversation,
      source: settledBy.startsWith('device:') ? 'device' : 'system',
    };
    await this.audit.append(context, 'outcome', {
      deviceId: command.deviceId,
      commandId: command.id,
      approvalId: command.approvalId,
      detail: { state: command.state, output: command.output, error: command.error, state_after: this.twins.get(command.tenantId, command.deviceId).reported },
    });
  }
}

/** sha256 of the canonical command: what an approval binds to. */
export function commandHash(tenantId: string, proposal: Pick<Proposal, 'deviceId' | 'kind' | 'name' | 'input'>): string {
  return sha256(canonicalJson({ tenant: tenantId, device: proposal.deviceId, kind: proposal.kind, name: proposal.name ?? '', input: proposal.input ?? null }));
}

function describeOutcome(command: CommandRecord): string {
  switch (command.state) {
    case 'acked':
      return 'the device acknowledged the command';
    case 'failed':
      return command.error?.startsWith('could not send') ? command.error : 'the device reported that the command failed';
    case 'rejected':
      return 'the device rejected the command';
    case 'timed_out':
      return `the device did not answer within ${Math.round((command.deadline - command.createdAt) / 1000)} s`;
    default:
      return 'sent; waiting for the device';
  }
}
