/**
 * Device commands sent from the console that wait for a human approval. When the feed reports
 * the approval granted, the desk sends the same command again presenting it (the server binds an
 * approval to the exact command, so nothing else can use it); a denial or expiry ends the wait.
 */
import { api, ApiError } from '../api/client.js';
import type { AuditEntry, DeviceAction } from '../api/types.js';

/** A command as the devices API takes it. */
export interface DeviceCommand {
  device: string;
  kind: 'set' | 'invoke';
  name: string;
  /** The property's value (set) or the action's input (invoke). */
  value: unknown;
}

export interface TrackedCommand {
  command: DeviceCommand;
  state: 'sending' | 'waiting_for_approval' | 'done' | 'denied' | 'failed';
  approval: string | null;
  result: DeviceAction | null;
  error: string | null;
}

/** Sends one command through the public API; 202 with `approval_required` when a human must approve. */
export function sendCommand(command: DeviceCommand, approval?: string): Promise<DeviceAction> {
  const device = encodeURIComponent(command.device);
  const name = encodeURIComponent(command.name);
  const extra = approval ? { approval } : {};
  return command.kind === 'set'
    ? api<DeviceAction>('PUT', `/v1/devices/${device}/properties/${name}`, { value: command.value, ...extra })
    : api<DeviceAction>('POST', `/v1/devices/${device}/actions/${name}`, { ...(command.value !== undefined ? { input: command.value } : {}), ...extra });
}

export class CommandDesk {
  private tracked: readonly TrackedCommand[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly send: typeof sendCommand = sendCommand) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  get = (): readonly TrackedCommand[] => this.tracked;

  /** Sends a command and follows it; resolves when the first answer came. */
  async submit(command: DeviceCommand): Promise<void> {
    const entry: TrackedCommand = { command, state: 'sending', approval: null, result: null, error: null };
    this.put(entry);
    await this.attempt(entry);
  }

  /** Reacts to an audit entry from the feed: a decision on an approval we wait for. */
  onAudit(entry: AuditEntry): void {
    const waiting = this.tracked.find((item) => item.state === 'waiting_for_approval' && item.approval !== null && item.approval === entry.approval);
    if (!waiting) return;
    if (entry.event === 'approval_granted') void this.attempt(this.replace(waiting, { state: 'sending' }), waiting.approval!);
    else if (entry.event === 'approval_denied') this.replace(waiting, { state: 'denied', error: 'A person denied this command.' });
  }

  private async attempt(entry: TrackedCommand, approval?: string): Promise<void> {
    let current = entry;
    try {
      const result = await this.send(entry.command, approval);
      current = this.replace(current, {
        result,
        approval: result.approval ?? current.approval,
        state: result.status === 'approval_required' ? 'waiting_for_approval' : 'done',
      });
    } catch (error) {
      this.replace(current, { state: 'failed', error: error instanceof ApiError ? error.message : String(error) });
    }
  }

  private put(entry: TrackedCommand): void {
    this.tracked = [entry, ...this.tracked].slice(0, 20);
    for (const listener of this.listeners) listener();
  }

  private replace(entry: TrackedCommand, change: Partial<TrackedCommand>): TrackedCommand {
    const next = { ...entry, ...change };
    this.tracked = this.tracked.map((item) => (item === entry ? next : item));
    for (const listener of this.listeners) listener();
    return next;
  }
}
