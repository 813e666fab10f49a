/**
 * Commands in flight: each is persisted as pending, then settles exactly once, by the device's
 * answer (acked, failed, rejected), by its deadline (timed_out), or by a failure to send. After
 * a restart, `recover` re-arms the deadlines of pending commands and times out those past it.
 */
import type { Clock } from '../core/clock.js';
import type { CommandRecord, CommandState, DeviceStore } from '../core/device-store.js';

interface InFlight {
  command: CommandRecord;
  timer: NodeJS.Timeout;
  waiters: Array<(command: CommandRecord) => void>;
}

/** Called once per settled command, before anyone waiting on it resumes. */
export type OnSettled = (command: CommandRecord, settledBy: string) => Promise<void>;

export class CommandTracker {
  private readonly inFlight = new Map<string, InFlight>();

  constructor(
    private readonly store: DeviceStore,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly onSettled: OnSettled,
  ) {}

  /** Persists a new pending command and arms its deadline. */
  async begin(command: CommandRecord): Promise<void> {
    await this.store.putCommand(command);
    this.arm(command);
  }

  /** Resolves with the command once it settles. */
  wait(id: string): Promise<CommandRecord | undefined> {
    const entry = this.inFlight.get(id);
    if (!entry) return Promise.resolve(undefined);
    return new Promise((resolve) => entry.waiters.push(resolve));
  }

  /** A pending command, from memory. */
  pending(id: string): CommandRecord | undefined {
    return this.inFlight.get(id)?.command;
  }

  /**
   * Settles a command from a device's answer. Only the device it was sent to may answer it: an
   * answer from another device (or for an unknown or settled command) is ignored and returns false.
   */
  async answer(id: string, from: { tenantId: string; deviceId: string }, state: CommandState, output: unknown, error: string | null): Promise<boolean> {
    const entry = this.inFlight.get(id);
    if (!entry || entry.command.tenantId !== from.tenantId || entry.command.deviceId !== from.deviceId) return false;
    await this.settle(id, state, output, error, `device:${from.deviceId}`);
    return true;
  }

  /** Settles a command from Nimbus's side (a send failure). */
  async fail(id: string, error: string): Promise<void> {
    await this.settle(id, 'failed', null, error, 'system');
  }

  /**
   * Fails every command in flight to a device that went `lost` or `offline`: its callers learn at
   * once instead of waiting out the deadline (a command is never kept for a device's return).
   */
  async failDevice(device: { tenantId: string; deviceId: string }, state: string): Promise<void> {
    const gone = [...this.inFlight.values()].filter(({ command }) => command.tenantId === device.tenantId && command.deviceId === device.deviceId);
    await Promise.all(gone.map(({ command }) => this.settle(command.id, 'failed', null, `the device went ${state} before answering`, 'system')));
  }

  /** Re-arms pending commands loaded from the store; those past their deadline time out now. */
  async recover(commands: readonly CommandRecord[]): Promise<void> {
    for (const command of commands) {
      if (command.state !== 'pending' || this.inFlight.has(command.id)) continue;
      this.arm(command);
      if (command.deadline <= this.clock.now()) await this.settle(command.id, 'timed_out', null, 'the deadline passed while Nimbus was down', 'system');
    }
  }

  /** Stops every timer (at shutdown); pending commands stay pending in the store for `recover`. */
  close(): void {
    for (const entry of this.inFlight.values()) clearTimeout(entry.timer);
    this.inFlight.clear();
  }

  private arm(command: CommandRecord): void {
    const delay = Math.max(0, command.deadline - this.clock.now());
    const timer = setTimeout(() => void this.settle(command.id, 'timed_out', null, 'the device did not answer before the deadline', 'system'), delay);
    this.inFlight.set(command.id, { command, timer, waiters: [] });
  }

  private async settle(id: string, state: CommandState, output: unknown, error: string | null, settledBy: string): Promise<void> {
    const entry = this.inFlight.get(id);
    if (!entry) return;
    this.inFlight.delete(id);
    clearTimeout(entry.timer);
    const command: CommandRecord = { ...entry.command, state, output: output ?? null, error, updatedAt: this.clock.now() };
    try {
      await this.store.putCommand(command);
      await this.onSettled(command, settledBy);
    } finally {
      for (const wake of entry.waiters) wake(command);
    }
  }
}
