/**
 * A readable diff of two app configs, as `git diff` shows a JSON file: both written with sorted
 * keys and two-space indents (so a field that only moved is no change), then compared line by line
 * with a longest common subsequence. Configs are small (tens of lines; instructions are one JSON
 * string line), so the quadratic table costs nothing and the result is the shortest diff.
 */

/** One line of the diff: in both, only in the newer (`added`), or only in the older (`removed`). */
export interface DiffLine {
  kind: 'same' | 'added' | 'removed';
  text: string;
}

/** The config as text: keys sorted at every depth, two-space indents. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, sortKeys(record[key])]),
  );
}

/** The lines of `newer` against `older`, in order. */
export function diffLines(older: string, newer: string): DiffLine[] {
  const before = older.split('\n');
  const after = newer.split('\n');
  // common[i][j]: the length of the longest common subsequence of before[i..] and after[j..].
  const common = Array.from({ length: before.length + 1 }, () => new Array<number>(after.length + 1).fill(0));
  for (let i = before.length - 1; i >= 0; i -= 1)
    for (let j = after.length - 1; j >= 0; j -= 1)
      common[i]![j] = before[i] === after[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    if (i < before.length && j < after.length && before[i] === after[j]) {
      lines.push({ kind: 'same', text: before[i]! });
      i += 1;
      j += 1;
    } else if (j < after.length && (i === before.length || common[i]![j + 1]! > common[i + 1]![j]!)) {
      lines.push({ kind: 'added', text: after[j]! });
      j += 1;
    } else {
      lines.push({ kind: 'removed', text: before[i]! });
      i += 1;
    }
  }
  return lines;
}

/** The diff of two configs. */
export function configDiff(older: unknown, newer: unknown): DiffLine[] {
  return diffLines(canonicalJson(older), canonicalJson(newer));
}

/** The top-level fields that differ (added, removed or changed), sorted: the diff in one line. */
export function changedFields(older: Record<string, unknown>, newer: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(older), ...Object.keys(newer)]);
  return [...keys].filter((key) => canonicalJson(older[key]) !== canonicalJson(newer[key])).sort();
}
