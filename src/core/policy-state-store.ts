/**
 * Device policy state that must outlive one request, one MCP session and one control plane:
 * taint (untrusted text was shown to a conversation or a key), the actuations and approval
 * requests counted by the caps, and idempotency keys. It lives in the store every control plane
 * shares, so a new request, a re-initialised MCP session or another server sees the same state.
 */
import type { EmergencyStop } from './device-store.js';

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

/** What one proposed command needs from the shared policy state, asked for in one call. */
export interface AdmissionQuery {
  tenantId: string;
  /** The subjects whose taint counts: the key's, and the conversation's when there is one. */
  taintSubjects: readonly string[];
  /** `key:ID` or `local`. */
  keySubject: string;
  conversation: string | null;
  deviceId: string;
  now: number;
  /** Record an actuation step for this command (then counted with the others). */
  record: boolean;
  /** Actuations of the key after this count toward its cap. */
  capSince: number;
  /** Counting stops here: the cap plus one is enough to refuse, and the count stays cheap. */
  countLimit: number;
  /** Devices the conversation actuated after this count toward its device cap. */
  conversationSince: number;
}

/** The shared policy state of one proposed command, as `admit` found it. */
export interface Admission {
  /** The tenant's emergency stop as stored (engaged by any control plane), if ever set. */
  emergencyStop: EmergencyStop | undefined;
  /** The latest taint in force among the subjects, if any. */
  taint: Taint | undefined;
  /** Distinct devices the conversation actuated (empty without a conversation). */
  conversationDevices: string[];
  /** The step recorded for this command (with `record`): the caller removes it if the command is not sent. */
  step: number | undefined;
  /** The key's actuations since `capSince`, this one included when recorded, at most `countLimit`. */
  count: number;
}

export interface PolicyStateStore {
  /**
   * The emergency stop, the taint, the conversation's devices and (with `record`) a recorded and
   * counted actuation step, in as few round trips as the database allows (one transaction on
   * SQLite). The count is made after the step is recorded and committed, as `addStep` then
   * `countSteps`, so two control planes racing for the last place see each other.
   */
  admit(query: AdmissionQuery): Promise<Admission>;

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
  /** Steps of a kind by a key since `since` (counting stops at `limit` when given). */
  countSteps(tenantId: string, kind: CountedKind, keySubject: string, since: number, limit?: number): Promise<number>;
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
