/**
 * Demand across control planes. Every control plane reports its own held and in-flight requests
 * per deployment to the store at each autoscale tick (and at once when a request is held), while it
 * has any; the leader adds what the others reported to its own before it decides. A control plane
 * alone (SQLite) shares nothing: `localDemandOnly`.
 */
import type { DemandCount, DemandStore } from '../core/pool-demand.js';

/** Demand other control planes reported, by deployment. */
export type OthersDemand = ReadonlyMap<string, { held: number; inFlight: number }>;

/** How the pool runtime shares its demand and reads the others'. */
export interface DemandShare {
  /** Reports this control plane's demand now (deployments with none left out). */
  publish(counts: readonly DemandCount[], now: number): Promise<void>;
  /** What the other control planes reported recently enough to count. */
  others(now: number): Promise<OthersDemand>;
}

/** One control plane on its store: nothing to share, no one else's demand. */
export const localDemandOnly: DemandShare = {
  publish: async () => undefined,
  others: async () => new Map(),
};

/** Options of `StoreDemandShare`. */
export interface StoreDemandShareOptions {
  store: DemandStore;
  /** This control plane's name (its lease holder name). */
  controlPlane: string;
  /**
   * A report older than this is not counted (its control plane stopped reporting: killed, or
   * partitioned from the store). Reports come every autoscale tick, so a few ticks; default 5000 ms.
   */
  freshMs?: number;
  /**
   * The longest a report with nothing changed waits for the next, so it stays fresh; default a
   * third of `freshMs`.
   */
  refreshMs?: number;
}

/** Demand shared through the store's `pool_demand` rows (migration 0042). */
export class StoreDemandShare implements DemandShare {
  private readonly freshMs: number;
  private readonly refreshMs: number;
  /** The last report written (its counts as text) and when: an unchanged one is written again only to stay fresh. */
  private last: { key: string; at: number } = { key: '', at: -Infinity };

  constructor(private readonly options: StoreDemandShareOptions) {
    this.freshMs = options.freshMs ?? 5000;
    this.refreshMs = options.refreshMs ?? Math.floor(this.freshMs / 3);
  }

  async publish(counts: readonly DemandCount[], now: number): Promise<void> {
    const key = JSON.stringify(counts);
    // Nothing to report and nothing reported before: no write (an idle control plane costs the store nothing).
    if (key === this.last.key && (counts.length === 0 || now - this.last.at < this.refreshMs)) return;
    await this.options.store.putDemand(this.options.controlPlane, counts, now);
    this.last = { key, at: now };
  }

  async others(now: number): Promise<OthersDemand> {
    const rows = await this.options.store.listDemand(now - this.freshMs);
    const sums = new Map<string, { held: number; inFlight: number }>();
    for (const row of rows) {
      if (row.controlPlane === this.options.controlPlane) continue;
      const sum = sums.get(row.deployment) ?? { held: 0, inFlight: 0 };
      sums.set(row.deployment, { held: sum.held + row.held, inFlight: sum.inFlight + row.inFlight });
    }
    return sums;
  }
}
