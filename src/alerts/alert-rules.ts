/**
 * One rule per kind of alert: a pure function from what the pool, the gate and the device store
 * say now to the conditions that hold now. No clock, no store: the loop (`alert-loop.ts`) reads
 * the inputs and keeps the rows. An input the loop could not read this tick is absent, and the
 * rule that needs it answers undefined: its alerts neither fire nor resolve on a failed read.
 * Adding a kind: docs/extending.md, "Add an alert kind".
 */
import type { AlertCondition, AlertKind } from '../core/alerts.js';
import type { EmergencyStop } from '../core/device-store.js';
import type { WorkerView } from '../core/pool-control.js';
import type { LimitName } from '../tenancy/limit-plan.js';
import { limitRules } from '../tenancy/limit-plan.js';

/** A share of a day or month budget at or above which `budget_high` fires. */
export const budgetAlertShare = 0.8;

/** The console pages alerts link to, in one place. */
export const alertLinks = {
  worker: (name: string): string => `/workers?worker=${encodeURIComponent(name)}`,
  deployment: (name: string): string => `/models?deployment=${encodeURIComponent(name)}`,
  budget: (tenantId: string): string => `/usage?tenant=${encodeURIComponent(tenantId)}`,
  estop: (): string => '/devices',
};

/** A worker as the rule needs it (the pool's `WorkerView`). */
export interface WorkerInput {
  name: string;
  state: WorkerView['state'];
  silentMs: number;
  replicas: readonly string[];
}

/** A deployment as the rule needs it (the pool's `DeploymentView`: `refusal` is set only while replicas are missing). */
export interface DeploymentInput {
  name: string;
  replicas: number;
  placed: readonly unknown[];
  refusal?: string;
}

/** One budget of one tenant as admission reads it (`UsageGate.tenantBudgets`). Cost in nano-USD. */
export interface BudgetInput {
  tenantId: string;
  name: LimitName;
  limit: number;
  used: number;
  /** Unix ms when the window ends. */
  resetsAt: number | null;
}

/** Everything the rules read; absent: not read this tick. */
export interface AlertInputs {
  workers?: readonly WorkerInput[];
  deployments?: readonly DeploymentInput[];
  budgets?: readonly BudgetInput[];
  stops?: readonly EmergencyStop[];
}

/** A rule: the kind it makes, and the conditions holding now (undefined when its input was not read). */
export interface AlertRule {
  kind: AlertKind;
  evaluate(inputs: AlertInputs): AlertCondition[] | undefined;
}

const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;

/** A joined worker the pool marked unreachable (silent past its heartbeats), drained or not: its replicas go elsewhere. */
export const workerLost: AlertRule = {
  kind: 'worker_lost',
  evaluate: ({ workers }) =>
    workers
      ?.filter((worker) => worker.state === 'unreachable')
      .map((worker) => ({
        kind: 'worker_lost',
        subject: worker.name,
        tenantId: null,
        message: `Worker ${worker.name} is lost: no heartbeat for ${seconds(worker.silentMs)}; its replicas are placed elsewhere where they fit.`,
        link: alertLinks.worker(worker.name),
      })),
};

/** A deployment with fewer replicas than asked and a reason the pool gave for not placing them. */
export const deploymentUnplaceable: AlertRule = {
  kind: 'deployment_unplaceable',
  evaluate: ({ deployments }) =>
    deployments
      ?.filter((deployment) => deployment.refusal !== undefined && deployment.placed.length < deployment.replicas)
      .map((deployment) => ({
        kind: 'deployment_unplaceable',
        subject: deployment.name,
        tenantId: null,
        message: `Deployment ${deployment.name} has ${deployment.placed.length} of ${deployment.replicas} replicas placed: ${deployment.refusal}`,
        link: alertLinks.deployment(deployment.name),
      })),
};

function budgetAmount(name: LimitName, value: number): string {
  return limitRules[name].measure === 'cost' ? `$${(value / 1e9).toFixed(2)}` : `${Math.round(value)} tokens`;
}

/** A tenant's day or month budget (tokens or cost) used to `budgetAlertShare` or more; it clears when the window resets. */
export const budgetHigh: AlertRule = {
  kind: 'budget_high',
  evaluate: ({ budgets }) =>
    budgets
      ?.filter((budget) => limitRules[budget.name].window !== 'minute' && budget.limit > 0 && budget.used >= budgetAlertShare * budget.limit)
      .map((budget) => {
        const rule = limitRules[budget.name];
        const share = Math.floor((100 * budget.used) / budget.limit);
        const resets = budget.resetsAt === null ? '' : `; it resets at ${new Date(budget.resetsAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
        return {
          kind: 'budget_high',
          subject: `${budget.tenantId}/${rule.field}`,
          tenantId: budget.tenantId,
          message:
            `Tenant ${budget.tenantId} has used ${share}% of its ${rule.words} budget ` +
            `(${budgetAmount(budget.name, budget.used)} of ${budgetAmount(budget.name, budget.limit)})${resets}.`,
          link: alertLinks.budget(budget.tenantId),
        } satisfies AlertCondition;
      }),
};

/** A tenant's emergency stop engaged: every actuation of its devices is refused until it is cleared. */
export const estopEngaged: AlertRule = {
  kind: 'estop_engaged',
  evaluate: ({ stops }) =>
    stops
      ?.filter((stop) => stop.active)
      .map((stop) => ({
        kind: 'estop_engaged',
        subject: stop.tenantId,
        tenantId: stop.tenantId,
        message: `The emergency stop of tenant ${stop.tenantId} is engaged (by ${stop.changedBy}: ${stop.reason}); device actions are refused until it is cleared.`,
        link: alertLinks.estop(),
      })),
};

/** Every rule, one per kind. */
export const alertRules: readonly AlertRule[] = [workerLost, deploymentUnplaceable, budgetHigh, estopEngaged];
