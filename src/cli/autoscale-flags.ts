/** The autoscale flags `nimbus deploy` and `nimbus deployments scale` share, and how they become an API body. */

/** Flag -> the admin API's autoscale field. */
export const autoscaleFlags = {
  min: 'min_replicas',
  max: 'max_replicas',
  'target-queue': 'target_queue_per_replica',
  'scale-down-ms': 'scale_down_delay_ms',
  'scale-from-zero-timeout-ms': 'scale_from_zero_timeout_ms',
} as const;

/** parseArgs options for the autoscale flags. */
export const autoscaleOptions = Object.fromEntries(Object.keys(autoscaleFlags).map((flag) => [flag, { type: 'string' as const }])) as Record<
  keyof typeof autoscaleFlags,
  { type: 'string' }
>;

/** Help text for the autoscale flags. */
export const autoscaleHelp = `Autoscaling (any of these turns it on; the count then follows demand between --min and --max):
      --min N                       fewest replicas; 0 scales an idle deployment to zero (default 1)
      --max N                       most replicas (default the larger of --min and the count)
      --target-queue N              requests queued or running per replica before one is added (default 2)
      --scale-down-ms N             how long demand stays below target before one replica goes (default 60000)
      --scale-from-zero-timeout-ms N  how long a request waits for a first replica before a 503 (default 120000)`;

/** The autoscale fields from parsed flags (empty when none was given), or the problem with one. */
export function autoscaleFromFlags(values: Record<string, unknown>): { body: Record<string, number> } | { error: string } {
  const body: Record<string, number> = {};
  for (const [flag, field] of Object.entries(autoscaleFlags)) {
    const text = values[flag];
    if (typeof text !== 'string') continue;
    const pattern = flag === 'target-queue' ? /^\d+(\.\d+)?$/ : /^\d+$/;
    if (!pattern.test(text)) return { error: `--${flag} must be a ${flag === 'target-queue' ? 'number' : 'whole number'}, got '${text}'` };
    body[field] = Number(text);
  }
  return { body };
}
