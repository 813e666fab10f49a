/**
 * Limits as the Keys page edits them: text fields per limit, turned into the admin API's limits
 * body. When editing, a field emptied that had a value becomes `null`, which removes that limit.
 */

/** Every limit and budget the API has, as it names them, with the page's labels. */
export const limitFields = [
  ['requests_per_minute', 'Requests/min'],
  ['tokens_per_minute', 'Tokens/min'],
  ['concurrent_requests', 'Concurrent'],
  ['tokens_per_day', 'Tokens/day'],
  ['tokens_per_month', 'Tokens/month'],
  ['cost_per_day_usd', 'USD/day'],
  ['cost_per_month_usd', 'USD/month'],
] as const;

/** What was typed into each limit field. */
export type LimitDraft = Partial<Record<(typeof limitFields)[number][0], string>>;

/** The limits a new record gets: empty fields are left out (no limit). */
export function limitsOf(draft: LimitDraft): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const [field] of limitFields) {
    const value = draft[field]?.trim();
    if (value) limits[field] = Number(value);
  }
  return limits;
}

/** A draft that starts from a record's limits. */
export function draftOf(limits: Record<string, number>): LimitDraft {
  const draft: LimitDraft = {};
  for (const [field] of limitFields) if (limits[field] !== undefined) draft[field] = String(limits[field]);
  return draft;
}

/** The change to send for an edited record: new and changed values, and `null` for limits emptied. */
export function limitChanges(current: Record<string, number>, draft: LimitDraft): Record<string, number | null> {
  const changes: Record<string, number | null> = {};
  for (const [field] of limitFields) {
    const value = draft[field]?.trim();
    if (value) {
      if (Number(value) !== current[field]) changes[field] = Number(value);
    } else if (current[field] !== undefined) changes[field] = null;
  }
  return changes;
}

/** Limits in words: `requests per minute 60, tokens per day 1000`, or `no limits`. */
export function describeLimits(limits: Record<string, number>): string {
  return (
    Object.entries(limits)
      .map(([name, value]) => `${name.replaceAll('_', ' ')} ${value}`)
      .join(', ') || 'no limits'
  );
}
