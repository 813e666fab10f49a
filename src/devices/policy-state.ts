/**
 * Policy state that outlives a request (issue 17): taint by conversation and by key, the caps on
 * actuations per key and devices per conversation, and approval requests per key. All of it is in
 * the store every control plane shares, so a new chat request, a re-initialised MCP session or
 * another server sees what the last one left; nothing here is kept only in memory.
 */
import type { Clock } from '../core/clock.js';
import type { Admission, CountedKind, PolicyStateStore, Taint } from '../core/policy-state-store.js';
import type { Principal } from '../core/principal.js';
import type { DeviceSettings } from './device-settings.js';

/** The window the per-key caps count over. */
export const capWindowMs = 60_000;

/** How the store names a key: `key:ID`, or `local` in local mode. */
export function keySubject(principal: Principal): string {
  return principal.keyId ? `key:${principal.keyId}` : 'local';
}

/** The subjects a session's taint lives under: its key, and its conversation when it has one. */
export function taintSubjects(principal: Principal, conversation: string | null): string[] {
  return conversation ? [keySubject(principal), `conversation:${conversation}`] : [keySubject(principal)];
}

/** What a cap check found: allowed (with the step it recorded), or refused with the count. */
export type CapCheck = { ok: true; step: number } | { ok: false; count: number; limit: number };

export class PolicyState {
  private lastPrune = 0;

  constructor(
    private readonly store: PolicyStateStore,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly settings: DeviceSettings,
  ) {}

  /**
   * What a proposed command needs from the shared state, in one store call: the tenant's emergency
   * stop, the taint of the key and conversation, the conversation's devices, and (with `record`,
   * for an actuation) a step recorded and the key's actuations counted. A step recorded here for a
   * command that is then not sent is given back (`give`). The count stops at the cap plus one.
   */
  async admit(principal: Principal, conversation: string | null, deviceId: string, record: boolean): Promise<Admission & { limit: number }> {
    const now = this.clock.now();
    if (record) await this.prune(now);
    const limit = this.settings.actuationsPerKeyPerMinute;
    const admission = await this.store.admit({
      tenantId: principal.tenantId,
      taintSubjects: taintSubjects(principal, conversation),
      keySubject: keySubject(principal),
      conversation,
      deviceId,
      now,
      record,
      capSince: now - capWindowMs,
      countLimit: limit + 1,
      conversationSince: now - this.settings.taintWindowMs,
    });
    return { ...admission, limit };
  }

  /** The taint in force for a key or conversation, if any. */
  taint(principal: Principal, conversation: string | null): Promise<Taint | undefined> {
    return this.store.taintedUntil(principal.tenantId, taintSubjects(principal, conversation), this.clock.now());
  }

  /** Taints a key and its conversation for the taint window from now. */
  async mark(principal: Principal, conversation: string | null, reason: string): Promise<Taint[]> {
    const now = this.clock.now();
    const until = now + this.settings.taintWindowMs;
    const taints = taintSubjects(principal, conversation).map((subject) => ({ tenantId: principal.tenantId, subject, until, reason, setAt: now }));
    await this.store.putTaints(taints);
    return taints;
  }

  /** Taints in force for a tenant. */
  list(tenantId: string): Promise<Taint[]> {
    return this.store.listTaints(tenantId, this.clock.now());
  }

  /** Clears taints (an admin's decision); returns how many were in force. */
  clear(tenantId: string, subjects: readonly string[]): Promise<number> {
    return this.store.clearTaints(tenantId, subjects, this.clock.now());
  }

  /**
   * Records one step of a key and checks it against its per-minute cap; a step over the cap is
   * removed again. Recording first means two control planes racing both count each other.
   */
  async take(kind: CountedKind, principal: Principal, conversation: string | null, deviceId: string): Promise<CapCheck> {
    const now = this.clock.now();
    await this.prune(now);
    const subject = keySubject(principal);
    const limit = kind === 'actuation' ? this.settings.actuationsPerKeyPerMinute : this.settings.approvalRequestsPerKeyPerMinute;
    const step = await this.store.addStep({ tenantId: principal.tenantId, kind, keySubject: subject, conversation, deviceId, at: now });
    const count = await this.store.countSteps(principal.tenantId, kind, subject, now - capWindowMs, limit + 1);
    if (count <= limit) return { ok: true, step };
    await this.store.removeStep(step);
    return { ok: false, count: count - 1, limit };
  }

  /** Gives back a recorded step whose command was then refused (so it does not count). */
  give(step: number): Promise<void> {
    return this.store.removeStep(step);
  }

  /** Devices a conversation actuated within the taint window (its state lives that long). */
  async conversationDevices(tenantId: string, conversation: string | null): Promise<string[]> {
    if (!conversation) return [];
    return this.store.conversationDevices(tenantId, conversation, this.clock.now() - this.settings.taintWindowMs);
  }

  /** Drops steps and taints past every window, at most once a minute. */
  private async prune(now: number): Promise<void> {
    if (now - this.lastPrune < capWindowMs) return;
    this.lastPrune = now;
    await this.store.pruneSteps(now - Math.max(this.settings.taintWindowMs, capWindowMs) - 60_000);
  }
}
