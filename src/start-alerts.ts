/**
 * Wires the alert evaluator (decision 0022) to what it reads: the pool's workers and deployments
 * as the admin API shows them, each tenant's day and month budgets as admission reads them, and
 * the emergency stops in the store. It evaluates on the pool's leader only (every control plane
 * runs the loop; a follower's tick does nothing), and sends each transition to the live feed,
 * which carries it to the other control planes' consoles.
 */
import type { FastifyBaseLogger } from 'fastify';
import { AlertLoop } from './alerts/alert-loop.js';
import type { BudgetInput } from './alerts/alert-rules.js';
import { alertView } from './api/routes/alerts.js';
import type { LiveEventBus } from './core/live-events.js';
import type { PoolControl } from './core/pool-control.js';
import { defaultTenantId } from './core/principal.js';
import type { Store } from './core/store.js';
import { hasLimits } from './tenancy/limit-plan.js';
import type { UsageGate } from './tenancy/usage-gate.js';

/** What the loop is built from. */
export interface AlertWiring {
  store: Store;
  pool: PoolControl;
  gate: UsageGate;
  events: LiveEventBus;
  /** Whether this control plane leads the pool now. */
  leading: () => boolean;
  intervalMs: number;
  log: FastifyBaseLogger;
}

/** Every tenant's day and month budgets, read as admission reads them. */
async function budgetsOf(store: Store, gate: UsageGate): Promise<BudgetInput[]> {
  const budgets: BudgetInput[] = [];
  for (const tenant of await store.tenancy.listTenants()) {
    if (!hasLimits(tenant.limits)) continue;
    for (const standing of await gate.tenantBudgets(tenant.id, tenant.limits))
      budgets.push({ tenantId: tenant.id, name: standing.name, limit: standing.limit, used: standing.used, resetsAt: standing.resetsAt });
  }
  return budgets;
}

/** Makes and starts the loop; `stop` it at shutdown. */
export function startAlerts(wiring: AlertWiring): AlertLoop {
  const { store, pool, gate, events, log } = wiring;
  const loop = new AlertLoop({
    store: store.alerts,
    leading: wiring.leading,
    intervalMs: wiring.intervalMs,
    sources: {
      workers: () => pool.workers(),
      deployments: () => pool.deployments(),
      budgets: () => budgetsOf(store, gate),
      stops: () => store.devices.listEmergencyStops(),
    },
    onTransition: (alert, change) => {
      const line = `alert ${change}: ${alert.message}`;
      if (change === 'fired') log.warn({ alert: alert.key }, line);
      else log.info({ alert: alert.key }, `alert resolved: ${alert.key}`);
      events.publish({
        type: 'alert',
        // The cloud's alerts (no tenant) are the operator's: the default tenant's, admins only.
        tenantId: alert.tenantId ?? defaultTenantId,
        keyId: null,
        deviceId: null,
        adminOnly: alert.tenantId === null,
        data: alertView(alert, change),
      });
    },
    onError: (error, what) => log.warn({ err: error }, `alerts: ${what} failed; tried again at the next tick`),
  });
  loop.start();
  return loop;
}
