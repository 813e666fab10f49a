/**
 * Runs an async task one at a time: a call while it runs does not start a second copy, it asks
 * for one more run right after, and every caller waits for the run that covers its call. Several
 * calls during one run cost one extra run, not several.
 */
export class CoalescedRun {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly task: () => Promise<void>) {}

  /** Promise for a run that starts at or after this call. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.task();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** The run in progress, if any (to wait for it at shutdown). */
  get current(): Promise<void> | undefined {
    return this.running;
  }
}
