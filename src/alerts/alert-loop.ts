/**
 * The alert evaluator: every `intervalMs`, on the control plane that leads the pool (the single
 * one, where there is one), read the inputs, run the rules, write what changed to the store, and
 * report each transition (fired, resolved) once. Followers evaluate nothing: the alert is computed
 * once however many control planes there are, and the store's compare-and-set transitions keep a
 * second evaluator (a leader frozen past its lease) from reporting one twice. Inputs that fail to
 * read are skipped for the tick, with their kinds left as they are.
 */
import type { AlertCondition, AlertKind, AlertRecord, AlertStore } from '../core/alerts.js';
import { systemClock, type Clock } from '../core/clock.js';
import { CoalescedRun } from '../core/coalesced-run.js';
import { alertRules, type AlertInputs, type AlertRule } from './alert-rules.js';
import { planAlerts } from './plan-alerts.js';

/** Where each input comes from; an absent source leaves its kind unevaluated. */
export type AlertSources = { [Input in keyof AlertInputs]?: () => Promise<NonNullable<AlertInputs[Input]>> };

/** Options of `AlertLoop`. */
export interface AlertLoopOptions {
  store: AlertStore;
  sources: AlertSources;
  /** Whether this control plane evaluates now: the pool's leadership. */
  leading: () => boolean;
  /** Between evaluations; the pool's heartbeat by default in main.ts. */
  intervalMs: number;
  clock?: Clock;
  rules?: readonly AlertRule[];
  /** An alert started firing or resolved (the live feed, the log). Called once per transition. */
  onTransition?: (alert: AlertRecord, change: 'fired' | 'resolved') => void;
  /** A source or a write failed; the loop goes on. */
  onError?: (error: unknown, what: string) => void;
}

/** Evaluates alerts on the leader; `start` once, `stop` at shutdown. */
export class AlertLoop {
  private timer: NodeJS.Timeout | undefined;
  private readonly clock: Clock;
  private readonly runs = new CoalescedRun(() => this.evaluate());

  constructor(private readonly options: AlertLoopOptions) {
    this.clock = options.clock ?? systemClock;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.runs.current?.catch(() => undefined);
  }

  /** One evaluation now (when leading); one at a time, a call during one runs another after it. */
  tick(): Promise<void> {
    return this.runs.run().catch((error: unknown) => this.options.onError?.(error, 'evaluating alerts'));
  }

  private async readInputs(): Promise<AlertInputs> {
    const inputs: AlertInputs = {};
    const { sources } = this.options;
    const read = async <Input extends keyof AlertInputs>(name: Input): Promise<void> => {
      const source = sources[name];
      if (!source) return;
      try {
        inputs[name] = await source();
      } catch (error) {
        this.options.onError?.(error, `reading ${name} for alerts`);
      }
    };
    await Promise.all([read('workers'), read('deployments'), read('budgets'), read('stops')]);
    return inputs;
  }

  private async evaluate(): Promise<void> {
    if (!this.options.leading()) return;
    const inputs = await this.readInputs();
    const found = new Map<AlertKind, AlertCondition[]>();
    for (const rule of this.options.rules ?? alertRules) {
      const conditions = rule.evaluate(inputs);
      if (conditions) found.set(rule.kind, conditions);
    }
    const { store } = this.options;
    // Leadership may have moved during the reads: the new leader evaluates from here.
    if (!this.options.leading()) return;
    const plan = planAlerts(await store.listAlerts({ state: 'firing' }), found);
    const now = this.clock.now();
    for (const condition of plan.fire) {
      const fired = await store.fireAlert(condition, now);
      if (fired) this.options.onTransition?.(fired, 'fired');
    }
    if (plan.seen.length > 0) await store.touchAlerts(plan.seen, now);
    for (const key of plan.resolve) {
      const resolved = await store.resolveAlert(key, now);
      if (resolved) this.options.onTransition?.(resolved, 'resolved');
    }
  }
}
