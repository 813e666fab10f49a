/** Risk tiers: which device classes are high risk unless their thing model says otherwise. */
import type { RiskTier } from '../core/device-store.js';

/** Device classes that can hurt people or property when misused (PRODUCT.md section 3). */
const riskyClasses = ['lock', 'door', 'valve', 'heater', 'robot'];

/** Risk tiers in order of severity. */
export const riskTiers: readonly RiskTier[] = ['low', 'high', 'critical'];

/** Whether a value is a risk tier. */
export function isRiskTier(value: unknown): value is RiskTier {
  return typeof value === 'string' && (riskTiers as readonly string[]).includes(value);
}

/**
 * The default tier of a device from what describes it (`nimbus:kind`, `@type`, title): high when
 * a word starts with lock, door, valve, heater or robot (`DoorLock`, `gas valve`, `robotic arm`),
 * else low. `clock` or `heat pump` stay low; `doorbell` errs on the side of high.
 */
export function defaultRisk(descriptions: readonly string[]): RiskTier {
  const words = descriptions
    .join(' ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z]+/);
  return words.some((word) => riskyClasses.some((risky) => word.startsWith(risky))) ? 'high' : 'low';
}

/** The more severe of two tiers. */
export function maxRisk(a: RiskTier, b: RiskTier): RiskTier {
  return riskTiers.indexOf(a) >= riskTiers.indexOf(b) ? a : b;
}
