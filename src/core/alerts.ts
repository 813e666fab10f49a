/**
 * Alerts: conditions an operator must see without looking for them (a worker lost, a deployment
 * that cannot place, a budget at 80%, an emergency stop engaged). Rules find the conditions that
 * hold now (`alerts/alert-rules.ts`, pure); the leader of the pool evaluates them each tick and
 * keeps one row per condition in the store (`alerts`, migration 0048), keyed by kind and subject,
 * so a condition that persists is one alert and one that clears resolves it (decision 0022).
 */

/** What an alert is about; one rule per kind. */
export type AlertKind = 'worker_lost' | 'deployment_unplaceable' | 'budget_high' | 'estop_engaged';

/** A condition a rule found holding now. */
export interface AlertCondition {
  kind: AlertKind;
  /** What it is about, unique within the kind: a worker's or deployment's name, `tenant/limit` for a budget, a tenant for the stop. */
  subject: string;
  /** The tenant it belongs to; null for the whole cloud's (workers, deployments): only the operator sees those. */
  tenantId: string | null;
  /** One line for a person, with the figures that made it fire. */
  message: string;
  /** The console page of the subject (`/usage`, `/devices`, ...). */
  link: string;
}

/** One alert as stored: the condition, whether it holds, and when it was seen. */
export interface AlertRecord extends AlertCondition {
  /** `kind:subject`: the dedup key, the row's primary key. */
  key: string;
  /** `firing` while the condition holds; `resolved` once it cleared (and `firing` again if it returns). */
  state: 'firing' | 'resolved';
  /** Unix ms when it started firing (this time: a condition that returns starts again). */
  firstSeenAt: number;
  /** Unix ms of the last evaluation that found it holding. */
  lastSeenAt: number;
  /** Unix ms when it cleared; null while firing. */
  resolvedAt: number | null;
  /** How many times it has started firing since the row was made. */
  fired: number;
}

/** The dedup key of a kind and a subject. */
export function alertKey(kind: AlertKind, subject: string): string {
  return `${kind}:${subject}`;
}

/** What `GET /v1/alerts` filters by. */
export interface AlertQuery {
  /** Only these tenants' alerts (a tenant's key); absent: every alert, the cloud's included (the operator). */
  tenantId?: string;
  state?: 'firing' | 'resolved';
  /** At most this many, newest first (by last seen). */
  limit?: number;
}

/** Persistence of alerts. Transitions are compare-and-set, so two evaluators never report one twice. */
export interface AlertStore {
  /**
   * Records that `condition` holds at `at`: a new row, or a resolved one made firing again, resolve
   * to the row (a transition); an alert already firing has its last seen and message updated and
   * resolves to undefined.
   */
  fireAlert(condition: AlertCondition, at: number): Promise<AlertRecord | undefined>;
  /** Marks firing alerts as seen at `at` (one write for all of them). */
  touchAlerts(keys: readonly string[], at: number): Promise<void>;
  /** Resolves a firing alert; resolves to the row when this call made the transition, undefined when it was not firing. */
  resolveAlert(key: string, at: number): Promise<AlertRecord | undefined>;
  /** Alerts newest first (by last seen). */
  listAlerts(query?: AlertQuery): Promise<AlertRecord[]>;
}
