/**
 * Device policy state that must outlive one request, one MCP session and one control plane:
 * taint (untrusted text was shown to a conversation or a key), the actuations and approval
 * requests counted by the caps, and idempotency keys. It lives in the store every control plane
 * shares, so a new request, a re-initialised MCP session or another server sees the same state.
 */

/** A subject carries taint: `key:ID` (or `local`), or `conversation:ID`. */
export interface Taint {
  tenantId: string;
  subject: string;
  /** Unix ms until which actuations by this subject need a human approval. */
  until: number;
  /** What tainted it, in words (`device:lock-1 event visitor_message`). */
  reason: string;
  setAt: number;
}

/** What the caps count: commands sent to devices, and approval requests made. */
export type CountedKind = 'actuation' | 'approval_request';

/** One counted step. */
export interface CountedStep {
  tenantId: string;
  kind: CountedKind;
  /** `key:ID` or `local`. */
  keySubject: string;
  conversation: string | null;
  deviceId: string;
  at: number;
}

/** A stored answer to a request made with an `Idempotency-Key`. */
export interface IdempotencyRecord {
  tenantId: string;
  keySubject: string;
  key: string;
  /** sha256 of what the request asked for: the same key with another request is refused. */
  requestHash: string;
  /** `running` until the first request answered; then `done` with its answer. */
  state: 'running' | 'done';
  status: number | null;
  body: unknown;
  createdAt: number;
  expiresAt: number;
}

export interface PolicyStateStore {
  /** Marks subjects tainted until `until` (a later mark extends, an earlier one never shortens). */
  putTaints(taints: readonly Taint[]): Promise<void>;
  /** The latest `until` after `now` among these subjects' taints, or undefined when none is in force. */
  taintedUntil(tenantId: string, subjects: readonly string[], now: number): Promise<Taint | undefined>;
  /** Taints in force for a tenant at `now`, latest first. */
  listTaints(tenantId: string, now: number): Promise<Taint[]>;
  /** Removes the taints of these subjects; returns how many were in force at `now`. */
  clearTaints(tenantId: string, subjects: readonly string[], now: number): Promise<number>;

  /**
   * Records a step and returns its id. Callers record first and count after, so two processes
   * racing for the last place both see each other (and at worst both are refused).
   */
  addStep(step: CountedStep): Promise<number>;
  /** Removes a recorded step (one the caps refused). */
  removeStep(id: number): Promise<void>;
  /** Steps of a kind by a key since `since`. */
  countSteps(tenantId: string, kind: CountedKind, keySubject: string, since: number): Promise<number>;
  /** Distinct devices actuated in a conversation since `since`. */
  conversationDevices(tenantId: string, conversation: string, since: number): Promise<string[]>;
  /** Forgets steps and taints older than `before` (housekeeping). */
  pruneSteps(before: number): Promise<void>;

  /**
   * Claims an idempotency key: stores `record` (state `running`) unless the key is held and
   * unexpired, in which case the held record is returned and nothing is written.
   */
  claimIdempotency(record: IdempotencyRecord): Promise<IdempotencyRecord | undefined>;
  /** Stores the answer of a claimed key. */
  finishIdempotency(tenantId: string, keySubject: string, key: string, status: number, body: unknown): Promise<void>;
  /** Frees a claimed key whose request did nothing (refused before any side effect), so a retry runs. */
  releaseIdempotency(tenantId: string, keySubject: string, key: string): Promise<void>;
}
