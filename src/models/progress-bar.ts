/**
 * A download progress bar for stderr. On a terminal it redraws one line in place, at most ten
 * times a second; in a log file (not a TTY) redraws would be noise, so it prints a line at each
 * 10% instead (or every 10 s when the total is unknown).
 */
import { formatBytes } from './format-bytes.js';

/** Where the bar is drawn: `process.stderr`, or a stand-in in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** Where to draw, and a clock (injected so tests need not wait). */
export interface ProgressBarOptions {
  stream?: ProgressStream;
  now?: () => number;
}

const redrawMs = 100;
const untotalledLineMs = 10_000;

/** Draws progress of one download; call `update` often, then `finish` or `stop`. */
export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly startedAt: number;
  private baseline: number | undefined;
  private lastDrawAt = -Infinity;
  private lastTenth = -1;
  private drawnOnTerminal = false;
  private latest = { received: 0, total: undefined as number | undefined };

  constructor(options: ProgressBarOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
  }

  /** Records progress and redraws when due. */
  update(progress: { received: number; total?: number }): void {
    // Bytes resumed from disk did not cross the network: leave them out of the speed.
    this.baseline ??= progress.received;
    this.latest = { received: progress.received, total: progress.total };
    const now = this.now();
    if (this.stream.isTTY) {
      if (now - this.lastDrawAt < redrawMs && progress.received !== progress.total) return;
      this.lastDrawAt = now;
      this.drawnOnTerminal = true;
      this.stream.write(`\r${this.line(now)}\x1b[K`);
      return;
    }
    if (progress.total !== undefined && progress.total > 0) {
      const tenth = Math.floor((progress.received / progress.total) * 10);
      if (tenth <= this.lastTenth) return;
      this.lastTenth = tenth;
    } else {
      if (now - this.lastDrawAt < untotalledLineMs) return;
    }
    this.lastDrawAt = now;
    this.stream.write(`${this.line(now)}\n`);
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    const now = this.now();
    const { total } = this.latest;
    if (this.stream.isTTY) {
      this.stream.write(`\r${this.line(now)}\x1b[K\n`);
    } else if (total === undefined || this.lastTenth < 10) {
      this.stream.write(`${this.line(now)}\n`);
    }
    this.drawnOnTerminal = false;
  }

  /** Ends a half-drawn terminal line so the next message starts on its own line. */
  stop(): void {
    if (this.drawnOnTerminal) this.stream.write('\n');
    this.drawnOnTerminal = false;
  }

  /** `[#####.....]  45%  135.2 MB / 300.0 MB  12.3 MB/s  ETA 0:13` */
  private line(now: number): string {
    const { received, total } = this.latest;
    const seconds = (now - this.startedAt) / 1000;
    const speed = seconds > 0 ? (received - (this.baseline ?? received)) / seconds : 0;
    const rate = `${formatBytes(Math.round(speed))}/s`;
    if (total === undefined || total <= 0) return `${formatBytes(received)}  ${rate}`;
    const fraction = Math.min(1, received / total);
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const eta = speed > 0 ? formatDuration((total - received) / speed) : '--:--';
    const text = `${percent}  ${formatBytes(received)} / ${formatBytes(total)}  ${rate}  ETA ${eta}`;
    if (!this.stream.isTTY) return text;
    const width = Math.max(10, Math.min(30, (this.stream.columns || 80) - text.length - 4));
    const filled = Math.round(fraction * width);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
  }
}

/** Seconds as `m:ss`, or `h:mm:ss` from an hour. */
function formatDuration(totalSeconds: number): string {
  const whole = Math.max(0, Math.round(totalSeconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const seconds = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}
