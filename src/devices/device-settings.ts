/** The knobs of device safety and timing; main.ts fills them from the `devices` config section. */
import type { RateLimit } from './rate-limiter.js';
import type { RefusalRate } from './refusal-windows.js';

export interface DeviceSettings {
  /** Time a device has to answer a command before it is timed out. */
  commandTimeoutMs: number;
  /** Time a granted approval may be used (critical commands get half). */
  approvalTtlMs: number;
  /** Time an approval request waits for a human before it lapses. */
  approvalRequestTtlMs: number;
  /** Distinct devices one conversation (a chat conversation, an MCP session) may actuate within the taint window. */
  maxDevicesPerRequest: number;
  /** Commands per device. */
  rateLimit: RateLimit;
  /** Model turns that may call tools in one chat completion before a final answer is asked for. */
  maxToolSteps: number;
  /** How long untrusted text keeps a conversation and its key needing approval for every actuation. */
  taintWindowMs: number;
  /** Actuations per key in any 60 s, however they arrive. */
  actuationsPerKeyPerMinute: number;
  /** Approval requests per key in any 60 s. */
  approvalRequestsPerKeyPerMinute: number;
  /** Refusals per key audited one by one per window; past it, one aggregate entry per window (default 20 a minute). */
  refusalAudit?: RefusalRate;
}

/** Conservative defaults: short approvals, a few devices per request, a few commands per minute. */
export const defaultDeviceSettings: DeviceSettings = {
  commandTimeoutMs: 10_000,
  approvalTtlMs: 120_000,
  approvalRequestTtlMs: 900_000,
  maxDevicesPerRequest: 3,
  rateLimit: { perMinute: 30, burst: 10 },
  maxToolSteps: 4,
  taintWindowMs: 900_000,
  actuationsPerKeyPerMinute: 10,
  approvalRequestsPerKeyPerMinute: 10,
};
