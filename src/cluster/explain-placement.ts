/**
 * A placement result in words, one line per worker per replica: what `nimbus deployments
 * explain NAME` prints.
 */
import type { PlacementResult } from './place-deployment.js';

const marks = { chosen: '+', fits: '~', refused: '-' } as const;

/** Lines of text: a heading per replica, then `+` chosen, `~` fits but ranked lower, `-` refused, each with its reason. */
export function explainPlacement(result: PlacementResult): string[] {
  const lines: string[] = [];
  for (const decision of result.decisions) {
    const where = decision.placement ? `placed on ${decision.placement.worker} (${decision.placement.tier})` : 'not placed';
    lines.push(`${result.deployment} replica ${decision.replica}: ${where}`);
    for (const verdict of decision.verdicts) lines.push(`  ${marks[verdict.outcome]} ${verdict.worker}: ${verdict.reason}`);
  }
  if (result.refusal) lines.push(result.refusal);
  if (lines.length === 0) lines.push(`${result.deployment}: every replica is placed; nothing to decide`);
  return lines;
}
