/**
 * Pull jobs shaped for the Models page: a percentage for the bar and a line of words for each
 * state, and which of two reports of one job is the later (the feed and a list read over HTTP can
 * arrive in either order).
 */
import type { ModelPull } from '../api/types.js';

const units = ['B', 'kB', 'MB', 'GB', 'TB'];

/** Bytes in decimal units with one decimal (`469.4 MB`), as the hub and `nimbus models` show them. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** What the progress bar shows: a whole percentage (null while the size is unknown) and a line of words. */
export interface PullProgress {
  percent: number | null;
  text: string;
}

/** The bar and the words for one pull. */
export function pullProgress(pull: ModelPull): PullProgress {
  const total = pull.total !== null && pull.total > 0 ? pull.total : null;
  const percent = total !== null ? Math.min(100, Math.floor((pull.bytes / total) * 100)) : null;
  const amount = total !== null ? `${formatBytes(pull.bytes)} of ${formatBytes(total)}` : formatBytes(pull.bytes);
  switch (pull.state) {
    case 'queued':
      return { percent: 0, text: 'queued: waits for a free download slot' };
    case 'downloading':
      return { percent, text: percent === null ? `downloading · ${amount}` : `downloading · ${percent}% · ${amount}` };
    case 'verifying':
      return { percent: 100, text: `checking size and sha256 · ${amount}` };
    case 'done':
      return { percent: 100, text: `done · ${formatBytes(pull.total ?? pull.bytes)}` };
    case 'failed':
      return { percent, text: `failed: ${pull.error ?? 'no reason given'}` };
    default:
      return { percent, text: String(pull.state) };
  }
}

const rank: Record<ModelPull['state'], number> = { queued: 0, downloading: 1, verifying: 2, done: 3, failed: 3 };

/** The later of two reports of one pull: the further state, then the more bytes. */
export function laterPull(current: ModelPull | undefined, next: ModelPull): ModelPull {
  if (!current) return next;
  const order = rank[next.state] - rank[current.state];
  if (order !== 0) return order > 0 ? next : current;
  return next.bytes >= current.bytes ? next : current;
}

/** Pulls read over HTTP merged with those the feed reported, each at its latest, newest first. */
export function mergePulls(listed: readonly ModelPull[], live: ReadonlyMap<string, ModelPull>): ModelPull[] {
  const merged = new Map<string, ModelPull>();
  for (const pull of listed) merged.set(pull.id, laterPull(merged.get(pull.id), pull));
  for (const pull of live.values()) merged.set(pull.id, laterPull(merged.get(pull.id), pull));
  return [...merged.values()].sort((left, right) => right.created_at - left.created_at || right.id.localeCompare(left.id));
}
