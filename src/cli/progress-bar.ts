/** A one-line progress bar on stderr for a terminal (redrawn in place); elsewhere only the last state is printed. */

/** Renders `done` of `total` as `[#####.....] done/total label`. */
export function progressLine(done: number, total: number, label: string, width = 30): string {
  const filled = total > 0 ? Math.round((Math.min(done, total) / total) * width) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label}`;
}

export class ProgressBar {
  private last = '';

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(done: number, total: number, label: string): void {
    this.last = progressLine(done, total, label);
    if (this.stream.isTTY) this.stream.write(`\r${this.last}\u001b[K`);
  }

  /** Ends the line (a terminal) or prints the last state once (a pipe). */
  finish(): void {
    this.stream.write(this.stream.isTTY ? '\n' : `${this.last}\n`);
  }
}
