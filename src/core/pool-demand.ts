/**
 * Demand shared by the control planes of one store: each reports, per deployment, the requests it
 * holds for a replica (scale from zero) and those it has in flight on replicas, so the leader's
 * autoscaler counts requests that arrived through any of them (`pool_demand`, migration 0042).
 * A row is one control plane's latest report; one that stops reporting (killed) goes stale and is
 * ignored after a few seconds, so its count never pins a deployment up.
 */

/** One control plane's demand for one deployment. */
export interface DemandCount {
  deployment: string;
  /** Requests waiting there because no replica of the deployment is ready. */
  held: number;
  /** Requests sent from there to the deployment's replicas and not yet ended. */
  inFlight: number;
}

/** A row as stored: whose count, and when it was reported. */
export interface DemandRecord extends DemandCount {
  /** The reporting control plane (the holder name of its lease election). */
  controlPlane: string;
  /** Unix ms of the report, by the reporter's clock. */
  reportedAt: number;
}

/** The demand part of the pool's store. */
export interface DemandStore {
  /** Replaces every row of `controlPlane` with `counts` (an empty list removes its rows). */
  putDemand(controlPlane: string, counts: readonly DemandCount[], at: number): Promise<void>;
  /** Every control plane's rows reported at or after `since`. */
  listDemand(since: number): Promise<DemandRecord[]>;
}
