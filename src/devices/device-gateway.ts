/**
 * The device gateway: the one path from a proposal (a model's tool call, an MCP call, a REST
 * request) to a device, and from a device's messages to its twin. Every proposal is audited,
 * decided by the policy, and either denied, parked for a human approval, or sent as a command
 * whose outcome comes from the device's answer and reported state, never from the proposer.
 * Reads and proposals are decided and carried out by `CommandPath` (command-path.ts); the gateway
 * keeps the transport, the tools, the idempotency keys and the messages devices send.
 */
import type { Clock } from '../core/clock.js';
import type { IdempotencyRecord } from '../core/policy-state-store.js';
import type { DeviceStore, EmergencyStop, TwinRecord } from '../core/device-store.js';
import { allows, type Principal } from '../core/principal.js';
import type { AuditLog } from './audit-log.js';
import type { ActionReport } from './action-report.js';
import { CommandPath, sessionContext } from './command-path.js';
import type { CommandTracker } from './command-tracker.js';
import type { DeviceChange, DeviceCore } from './device-core.js';
import type { DeviceLogger } from './device-logger.js';
import type { DeviceRegistry, RegisteredDevice } from './device-registry.js';
import { keySubject } from './policy-state.js';
import { commandInput, deviceTools, parseToolName, type DeviceTool } from './device-tools.js';
import type { Proposal } from './policy.js';
import type { ToolSession } from './tool-session.js';
import type { RecentEvent, TwinBook } from './twin-book.js';
import type { DeviceAddress, DeviceTransport, InboundMessage, OutboundCommand, TransportHost } from './transport.js';

export type { DeviceChange } from './device-core.js';

/** How long an `Idempotency-Key`'s answer is kept. */
const idempotencyTtlMs = 24 * 3_600_000;
export type { ActionReport } from './action-report.js';
export { commandHash } from './action-report.js';

export class DeviceGateway implements TransportHost {
  private readonly registry: DeviceRegistry;
  private readonly twins: TwinBook;
  private readonly audit: AuditLog;
  private readonly tracker: CommandTracker;
  private readonly estops: Map<string, EmergencyStop>;
  private readonly store: DeviceStore;
  private readonly clock: Clock;
  private readonly logger: DeviceLogger;
  private readonly commands: CommandPath;
  private transport: DeviceTransport | undefined;
  /** Messages from devices nobody registered (counted, then dropped). */
  private unknownMessages = 0;

  constructor(private readonly core: DeviceCore) {
    this.registry = core.registry;
    this.twins = core.twins;
    this.audit = core.audit;
    this.tracker = core.tracker;
    this.estops = core.estops;
    this.store = core.store;
    this.clock = core.clock;
    this.logger = core.logger;
    this.commands = new CommandPath(core, (command) => this.send(command));
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
      await this.audit.append(sessionContext(session), 'denial', {
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
    await this.audit.append(sessionContext(session), 'denial', { detail: { reason: 'approval_in_model_output', where, claim: detail } });
  }

  /** Reads a device's live state; device text in it is marked, and marks the session untrusted. */
  read(session: ToolSession, deviceId: string): Promise<ActionReport> {
    return this.commands.read(session, deviceId);
  }

  /**
   * Decides and, if allowed, executes one proposal. With `wait` (the default) it resolves once the
   * device answered or the command timed out; otherwise once the command is sent.
   */
  propose(session: ToolSession, proposal: Proposal, options: { tool?: string; wait?: boolean } = {}): Promise<ActionReport> {
    return this.commands.propose(session, proposal, options);
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
   * window, so a new request, a new MCP session or another control plane sees it. Audited when
   * the session turns untrusted.
   */
  taint(session: ToolSession, reason: string): Promise<void> {
    return this.commands.taint(session, reason);
  }

  /** A device the principal may see, or undefined. */
  visible(principal: Principal, deviceId: string): RegisteredDevice | undefined {
    const device = this.registry.get(principal.tenantId, deviceId);
    return device && allows(principal.scopes.devices, deviceId) ? device : undefined;
  }

  private async send(command: OutboundCommand): Promise<void> {
    if (!this.transport) throw new Error('devices are not connected to their transport');
    await this.transport.send(command);
    // Recorded when seen on the transport (in order with the device's messages), or else now.
    if (command.kind === 'set') this.twins.desireOnce(command.id, command.to.tenantId, command.to.deviceId, { [command.name]: command.value });
  }
}
