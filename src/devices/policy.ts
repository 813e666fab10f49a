/**
 * The server-side policy, pure: every proposed command is checked here before anything leaves.
 * Deny by default (the key's device scope), then the emergency stop, the thing model (affordance,
 * schema, ranges), approval claims smuggled into arguments, the cap on devices per request, the
 * per-device rate limit, the device's connection, and last the risk tier and untrusted context,
 * which decide whether a human approval is needed and whether a presented one fits.
 */
import type { ApprovalRecord, ConnectionState, EmergencyStop, RiskTier } from '../core/device-store.js';
import { allows, type Principal } from '../core/principal.js';
import { canonicalJson } from './canonical-json.js';
import { undeclaredField, type DataSchema } from './data-schema.js';
import { maxRisk } from './risk.js';
import type { ThingModel } from './thing-model.js';

/** A command someone (a model, an agent, a REST client) wants executed. */
export interface Proposal {
  deviceId: string;
  kind: 'read' | 'set' | 'invoke';
  /** The property written or the action invoked. */
  name?: string;
  /** The command input: the property value or the action input. */
  input: unknown;
  /** Raw tool arguments, when the proposal came from a tool call. */
  arguments?: Record<string, unknown>;
}

/** Everything the decision depends on, gathered by the caller. */
export interface PolicyFacts {
  now: number;
  principal: Principal;
  /** The device's thing model; undefined when the tenant has no such device. */
  model: ThingModel | undefined;
  connection: ConnectionState;
  emergencyStop: EmergencyStop | undefined;
  /** Untrusted text (device data, tool output) is in the model's context. */
  untrusted: boolean;
  /** The device's reported state now, for risks that depend on it (`nimbus:riskWhen`). */
  reported: Record<string, unknown>;
  /** Devices this request has already actuated. */
  touched: ReadonlySet<string>;
  /** Devices the current model turn proposes to actuate, all together (a bulk "turn everything off"). */
  planned: ReadonlySet<string>;
  maxDevices: number;
  /** Milliseconds until the device's rate limit allows another command (0: now). */
  rateWaitMs: number;
  /** sha256 of the canonical command. */
  commandHash: string;
  /** Approvals presented with the request (out of band: never tool arguments). */
  presented: readonly ApprovalRecord[];
}

/** Why a proposal was refused; stable words for the audit log and clients. */
export type DenialReason =
  | 'out_of_scope'
  | 'emergency_stop'
  | 'unknown_affordance'
  | 'read_only'
  | 'approval_in_arguments'
  | 'invalid_input'
  | 'too_many_devices'
  | 'rate_limited'
  | 'device_offline'
  | 'approval_mismatch'
  | 'approval_not_granted'
  | 'approval_denied'
  | 'approval_used'
  | 'approval_expired'
  | 'approval_void'
  | 'approval_rate_limited'
  | 'key_rate_limited'
  | 'approval_in_model_output';

/** The decision. */
export type Verdict =
  | { verdict: 'allow'; risk: RiskTier; actuation: boolean; approvalId?: string }
  | { verdict: 'deny'; reason: DenialReason; message: string; retryAfterMs?: number; param?: string }
  | { verdict: 'approve'; risk: RiskTier; reason: string; message: string };

/** Argument names that claim a human decision; only the approval API can make one. */
const approvalClaim = /approv|confirm|authori[sz]|consent|override|bypass|sudo|human|verified/i;

function deny(reason: DenialReason, message: string, retryAfterMs?: number, param?: string): Verdict {
  return { verdict: 'deny', reason, message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), ...(param ? { param } : {}) };
}

/** Decides one proposal. */
export function decide(proposal: Proposal, facts: PolicyFacts): Verdict {
  const { deviceId } = proposal;
  const model = facts.model;
  if (!model || !allows(facts.principal.scopes.devices, deviceId)) {
    return deny('out_of_scope', `No device '${deviceId}' is in this key's device scope.`);
  }
  if (proposal.kind === 'read') return { verdict: 'allow', risk: 'low', actuation: false };
  const affordance = proposal.kind === 'set' ? model.properties[proposal.name ?? ''] : model.actions[proposal.name ?? ''];
  if (!affordance) {
    const known = Object.keys(proposal.kind === 'set' ? model.properties : model.actions).join(', ') || 'none';
    return deny('unknown_affordance', `Device '${deviceId}' has no ${proposal.kind === 'set' ? 'property' : 'action'} '${proposal.name}' (known: ${known}).`);
  }
  const actuation = actuates(affordance);
  if (actuation && facts.emergencyStop?.active) {
    return deny(
      'emergency_stop',
      `Emergency stop is engaged for this tenant (${facts.emergencyStop.reason}); every actuation is refused until an admin clears it.`,
    );
  }
  if ('readOnly' in affordance && affordance.readOnly) return deny('read_only', `Property '${affordance.name}' of '${deviceId}' is read-only.`);
  const declared = declaredArguments(proposal.kind, affordance);
  const claim = Object.keys(proposal.arguments ?? {}).find((key) => approvalClaim.test(key) && !declared.has(key));
  if (claim) {
    return deny(
      'approval_in_arguments',
      `The argument '${claim}' claims an approval; approvals are granted only by a human through the approval API, never by a tool argument.`,
    );
  }
  const undeclared = undeclaredArgument(proposal.kind, affordance, proposal.arguments ?? {});
  if (undeclared) {
    return deny(
      'invalid_input',
      `Refused before sending: '${undeclared}' is not declared by the thing model of '${deviceId}', and undeclared fields are refused unless the model allows them.`,
      undefined,
      undeclared,
    );
  }
  const problem = affordance.validate(proposal.input);
  if (problem) return deny('invalid_input', `Refused before sending: ${problem}.`);
  const reach = new Set([...facts.touched, ...facts.planned, deviceId]).size;
  if (actuation && reach > facts.maxDevices) {
    return deny(
      'too_many_devices',
      `This request may actuate at most ${facts.maxDevices} devices, and this would make ${reach}; nothing in it was sent. Ask for fewer devices at a time.`,
    );
  }
  if (facts.rateWaitMs > 0)
    return deny('rate_limited', `Device '${deviceId}' is rate limited; retry in ${Math.ceil(facts.rateWaitMs / 1000)} s.`, facts.rateWaitMs);
  if (facts.connection === 'offline' || facts.connection === 'lost') {
    return deny('device_offline', `Device '${deviceId}' is ${facts.connection}; the command was not sent (commands are never queued for later).`);
  }
  const raised = affordance.riskWhen.filter((condition) => stateMatches(facts.reported, condition.property, condition.equals));
  const risk = raised.reduce((tier, condition) => maxRisk(tier, condition.risk), affordance.risk);
  const risky = risk !== 'low';
  const untrusted = actuation && facts.untrusted;
  if (!risky && !untrusted) return { verdict: 'allow', risk, actuation };
  const because = raised
    .filter((condition) => condition.risk === risk)
    .map((condition) => `${condition.property} is ${JSON.stringify(facts.reported[condition.property] ?? 'not reported')}`);
  const why = risky ? `risk ${risk}${risk !== affordance.risk && because.length > 0 ? ` while ${because.join(' and ')}` : ''}` : 'untrusted content in context';
  return checkApproval(facts, risk, why, actuation);
}

/** Whether an affordance acts on the world: every property write and action but those the model marks `safe`. */
function actuates(affordance: object): boolean {
  return !('safe' in affordance && affordance.safe);
}

/** Whether a proposal would be an actuation if allowed (what the caps count): known before `decide`, so its step can be recorded with the reads. */
export function isActuation(model: { model: ThingModel } | undefined, proposal: Proposal): boolean {
  if (!model || proposal.kind === 'read') return false;
  const affordance = proposal.kind === 'set' ? model.model.properties[proposal.name ?? ''] : model.model.actions[proposal.name ?? ''];
  return affordance !== undefined && actuates(affordance);
}

/**
 * The first argument (as a dotted path) that the tool's schema does not declare: a property write
 * and a wrapped action input take only `value`; an object input takes its declared fields, at any
 * depth, unless the thing model sets `additionalProperties`.
 */
function undeclaredArgument(kind: 'set' | 'invoke', affordance: object, args: Record<string, unknown>): string | undefined {
  const input = 'input' in affordance ? (affordance.input as DataSchema | undefined) : undefined;
  if (kind === 'invoke' && input?.type === 'object') return undeclaredField(args, input, '');
  const schema = kind === 'set' ? (affordance as { schema: DataSchema }).schema : input;
  const wrapper: DataSchema = schema ? { type: 'object', properties: { value: schema } } : { type: 'object', properties: {} };
  return undeclaredField(args, wrapper, '');
}

/** The argument names a tool for this affordance declares (see device-tools.ts). */
function declaredArguments(kind: 'set' | 'invoke', affordance: object): Set<string> {
  const input = 'input' in affordance ? (affordance.input as { type?: unknown; properties?: unknown } | undefined) : undefined;
  if (kind === 'invoke' && input?.type === 'object') return new Set(Object.keys(input.properties ?? {}));
  return new Set(['value']);
}

/** A command that needs approval: allowed only with a matching, granted, unexpired, unused approval of the same key. */
function checkApproval(facts: PolicyFacts, risk: RiskTier, why: string, actuation: boolean): Verdict {
  if (facts.presented.length === 0) {
    return { verdict: 'approve', risk, reason: why, message: `Needs a human approval (${why}); it was requested and nothing was sent.` };
  }
  const approval = facts.presented.find((candidate) => candidate.commandHash === facts.commandHash);
  if (!approval) return deny('approval_mismatch', 'The approval presented is for a different command; an approval is bound to one exact command.');
  if (approval.requestedBy !== facts.principal.keyId) return deny('approval_mismatch', `Approval '${approval.id}' was requested by another key.`);
  switch (approval.status) {
    case 'used':
      return deny('approval_used', `Approval '${approval.id}' was already used; each approval allows one command once.`);
    case 'denied':
      return deny('approval_denied', `Approval '${approval.id}' was denied.`);
    case 'requested':
      return deny('approval_not_granted', `Approval '${approval.id}' has not been granted yet.`);
    case 'expired':
      return deny('approval_expired', `Approval '${approval.id}' expired; request a new one.`);
    case 'void':
      return deny('approval_void', `Approval '${approval.id}' was voided by an emergency stop; request a new one.`);
    case 'granted':
      if (approval.expiresAt <= facts.now) return deny('approval_expired', `Approval '${approval.id}' expired; request a new one.`);
      return { verdict: 'allow', risk, actuation, approvalId: approval.id };
    default:
      return deny('approval_mismatch', `Approval '${approval.id}' is in an unknown state.`);
  }
}

/** Whether a reported property equals a value; a property not reported yet counts as matching (the safe side). */
function stateMatches(reported: Record<string, unknown>, property: string, equals: unknown): boolean {
  if (!(property in reported)) return true;
  return canonicalJson(reported[property]) === canonicalJson(equals);
}
