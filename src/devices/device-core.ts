/**
 * What the gateway and the admin share: registered devices, twins, approvals, the audit log,
 * commands in flight and emergency stops, over one store and clock. `startDevices` builds it
 * once and hands it to `DeviceGateway` (proposals, telemetry) and `DeviceAdmin` (registrations,
 * human decisions, reads); nothing outside `devices/` holds it, so the rest of Nimbus reaches
 * devices only through those two.
 */
import { systemClock, type Clock } from '../core/clock.js';
import type { AuditEntry, CommandRecord, DeviceStore, EmergencyStop, TwinRecord } from '../core/device-store.js';
import { ApprovalDesk } from './approval-desk.js';
import { AuditLog, type AuditContext } from './audit-log.js';
import { CommandTracker } from './command-tracker.js';
import { DeviceRegistry } from './device-registry.js';
import { silentLogger, type DeviceLogger } from './device-logger.js';
import type { DeviceSettings } from './device-settings.js';
import { PolicyState } from './policy-state.js';
import { TwinBook } from './twin-book.js';

/** What changed, for watchers such as the live feed: a twin (after the change) or a stored audit entry. */
export type DeviceChange = { kind: 'twin'; twin: TwinRecord } | { kind: 'audit'; entry: AuditEntry };

export interface DeviceCoreOptions {
  store: DeviceStore;
  settings: DeviceSettings;
  clock?: Clock;
  logger?: DeviceLogger;
}

export class DeviceCore {
  readonly store: DeviceStore;
  readonly settings: DeviceSettings;
  readonly clock: Clock;
  readonly logger: DeviceLogger;
  readonly registry: DeviceRegistry;
  readonly twins: TwinBook;
  readonly approvals: ApprovalDesk;
  readonly audit: AuditLog;
  readonly tracker: CommandTracker;
  /** Taint, caps and approval-request counts, shared through the store by every control plane. */
  readonly policyState: PolicyState;
  /** Each tenant's emergency stop, as last set. */
  readonly estops = new Map<string, EmergencyStop>();
  private readonly watchers = new Set<(change: DeviceChange) => void>();

  constructor(options: DeviceCoreOptions) {
    this.store = options.store;
    this.settings = options.settings;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.registry = new DeviceRegistry(this.store, this.clock);
    this.twins = new TwinBook(this.store, this.clock, undefined, (twin) => this.notify({ kind: 'twin', twin }));
    this.approvals = new ApprovalDesk(this.store, this.clock, { requestMs: this.settings.approvalRequestTtlMs, grantMs: this.settings.approvalTtlMs });
    this.audit = new AuditLog(this.store, this.clock, {
      onAppend: (entry) => this.notify({ kind: 'audit', entry }),
      ...(this.settings.refusalAudit ? { refusals: this.settings.refusalAudit } : {}),
      onError: (error) => this.logger.error({ err: error }, 'could not write an audit entry'),
    });
    this.policyState = new PolicyState(this.store, this.clock, this.settings);
    this.tracker = new CommandTracker(this.store, this.clock, (command, settledBy) => this.recordOutcome(command, settledBy));
  }

  /** Loads devices, twins and emergency stops from the store. */
  async load(): Promise<void> {
    for (const problem of await this.registry.load()) this.logger.warn({}, `skipping a stored device: ${problem}`);
    await this.twins.load();
    for (const stop of await this.store.listEmergencyStops()) this.estops.set(stop.tenantId, stop);
  }

  /** Calls `watcher` with every twin change and audit entry; returns the function that stops it. */
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

  /** Audits how a command ended, with the state the device reported after it. */
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
