/**
 * The accounting path's entry point: one `Accounting` per server, wired in main.ts (through the
 * HTTP layer's context), and `open` once per billed engine call. See `billed-call.ts` for the
 * call's life and docs/architecture.md ("The accounting path") for the contract.
 */
import type { LiveEventBus } from '../../core/live-events.js';
import type { Store } from '../../core/store.js';
import type { UsageGate } from '../usage-gate.js';
import { BilledCall, type BilledCallSpec } from './billed-call.js';
import type { AccessLine, AccountingLog, RequestMeter } from './sinks.js';

/** Everything a billed call reports to: admission and settlement, the ledger, the feeds. */
export interface AccountingSinks {
  /** Admission and settlement against keys' and tenants' limits (`openGate` when tenancy is off). */
  gate: UsageGate;
  /** The ledger (its rows are batched by the store). */
  store: Pick<Store, 'recordRequest'>;
  /** The live feed's `request` events. */
  events: Pick<LiveEventBus, 'publish'>;
  meter: RequestMeter;
  accessLog: AccessLine;
  log: AccountingLog;
}

export class Accounting {
  constructor(readonly sinks: AccountingSinks) {}

  /** Opens a billed call: its clock starts now. Admit it next; end it once, whatever happens. */
  open(spec: BilledCallSpec): BilledCall {
    return new BilledCall(this.sinks, spec);
  }
}
