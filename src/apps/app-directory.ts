/**
 * Live apps by tenant and name, as calls need them: read from the store once and kept for a
 * second, so an app call costs a map lookup, not a query. A change made in this process is seen
 * at once (`forget`); one made through another control plane within `ttlMs` (as keys are).
 */
import type { AppRecord, AppStore } from '../core/app-store.js';
import type { Clock } from '../core/clock.js';

export class AppDirectory {
  private readonly cache = new Map<string, { at: number; app: Promise<AppRecord | undefined> }>();

  constructor(
    readonly store: AppStore,
    private readonly clock: Clock,
    private readonly ttlMs = 1_000,
  ) {}

  /** The app with its live version, or undefined when the tenant has none of that name. */
  live(tenantId: string, name: string): Promise<AppRecord | undefined> {
    const key = `${tenantId}\u0000${name}`;
    const now = this.clock.now();
    const cached = this.cache.get(key);
    if (cached && now - cached.at < this.ttlMs) return cached.app;
    const app = this.store.getApp(tenantId, name);
    this.cache.set(key, { at: now, app });
    // A failed read is not kept: the next call asks again.
    app.catch(() => this.cache.delete(key));
    if (this.cache.size > 10_000) this.cache.delete(this.cache.keys().next().value!);
    return app;
  }

  /** Drops a cached app after a change here (publish, rollback, delete). */
  forget(tenantId: string, name: string): void {
    this.cache.delete(`${tenantId}\u0000${name}`);
  }
}
