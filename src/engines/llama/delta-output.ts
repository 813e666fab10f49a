import type { AsyncQueue } from '../../core/async-queue.js';
import type { GenerationEvent } from '../../core/engine.js';

/**
 * Where a generation's events go. Text chunks are handed on a turn of the event loop later, not
 * from inside node-llama-cpp's token callback: the callback returns at once, the next token's
 * decode is dispatched to llama.cpp's thread first (node-llama-cpp dispatches a batch at once
 * when every sequence has queued, else on the next setImmediate, which is why the flush waits two),
 * and the HTTP work (building and writing the SSE chunk) overlaps with that decode instead of
 * delaying it. Chunks that arrive meanwhile (fast decodes) leave as one delta. Any other event
 * flushes pending text first, so order is kept.
 */
export class DeltaOutput {
  private pending = '';
  private scheduled = false;
  /** Whether anything was handed out (or is about to be): a generation that gave out text cannot start over. */
  started = false;

  /** `onStart` is called once, with the first text or event (the prompt is evaluated by then). */
  constructor(
    private readonly queue: AsyncQueue<GenerationEvent>,
    private readonly onStart: () => void = () => undefined,
  ) {}

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.onStart();
  }

  readonly text = (chunk: string): void => {
    if (!chunk) return;
    this.start();
    this.pending += chunk;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.deferredFlush);
    }
  };

  private readonly deferredFlush = (): void => void setImmediate(this.flush);

  readonly flush = (): void => {
    this.scheduled = false;
    if (!this.pending) return;
    const content = this.pending;
    this.pending = '';
    this.queue.push({ type: 'delta', content });
  };

  push(event: GenerationEvent): void {
    this.start();
    this.flush();
    this.queue.push(event);
  }
}
