/**
 * Load as the issue defines it: the arrival scale at which the oracle keeps the pool's prefill
 * busy a given share of the time (0.85 is "85% load"). Utilisation grows with the scale but not in
 * proportion: past a point the running requests' KV memory squeezes the prefix cache out, hits
 * fall and prefill work jumps (Mooncake on 16 GPUs: 0.61 at x2, 0.98 at x2.5). So the scale is
 * bracketed, then bisected.
 */

/** One oracle run at `scale`: its prefill utilisation. */
export type UtilisationAt = (scale: number) => number;

/** The scale at which `utilisationAt` is within `tolerance` of `target` (or the bracket narrower than 0.5%), and what was measured there. */
export function scaleForUtilisation(
  target: number,
  utilisationAt: UtilisationAt,
  options: { start?: number; tolerance?: number; maxRuns?: number } = {},
): { scale: number; utilisation: number; runs: number } {
  const tolerance = options.tolerance ?? 0.01;
  const maxRuns = options.maxRuns ?? 16;
  let runs = 0;
  const measure = (scale: number) => {
    runs += 1;
    const utilisation = utilisationAt(scale);
    if (!(utilisation >= 0)) throw new Error(`no utilisation at scale ${scale}: the trace is empty or has no prompt tokens`);
    return { scale, utilisation };
  };
  let probe = measure(options.start ?? 1);
  if (Math.abs(probe.utilisation - target) <= tolerance) return { ...probe, runs };
  let low = probe.utilisation < target ? probe : undefined;
  let high = probe.utilisation > target ? probe : undefined;
  while ((!low || !high) && runs < maxRuns) {
    probe = measure(low ? probe.scale * 2 : probe.scale / 2);
    if (probe.utilisation < target) low = probe;
    else high = probe;
  }
  if (!low || !high) return { ...probe, runs };
  let best = Math.abs(low.utilisation - target) < Math.abs(high.utilisation - target) ? low : high;
  while (runs < maxRuns && Math.abs(best.utilisation - target) > tolerance && high.scale / low.scale > 1.005) {
    probe = measure((low.scale + high.scale) / 2);
    if (probe.utilisation < target) low = probe;
    else high = probe;
    if (Math.abs(probe.utilisation - target) < Math.abs(best.utilisation - target)) best = probe;
  }
  return { ...best, runs };
}
