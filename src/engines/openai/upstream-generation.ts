/**
 * One upstream generation as an async iterator: the first `next()` runs the tries; after that,
 * calls go straight to the whole answer's events or to the stream's relay. No generator sits in
 * between, so an event costs one promise (a stream of hundreds of tokens feels the difference).
 */
import type { GenerationEvent } from '../../core/engine.js';
import type { StreamRelay } from './stream-relay.js';

export class UpstreamGeneration implements AsyncIterableIterator<GenerationEvent> {
  private events: GenerationEvent[] | undefined;
  private index = 0;
  private relay: StreamRelay | undefined;

  constructor(private readonly begin: () => Promise<GenerationEvent[] | StreamRelay>) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<GenerationEvent>> {
    if (this.relay) return this.relay.next();
    if (this.events)
      return Promise.resolve(this.index < this.events.length ? { value: this.events[this.index++]!, done: false } : { value: undefined, done: true });
    return this.open();
  }

  return(): Promise<IteratorResult<GenerationEvent>> {
    return this.relay ? this.relay.return() : Promise.resolve({ value: undefined, done: true });
  }

  private async open(): Promise<IteratorResult<GenerationEvent>> {
    const opened = await this.begin();
    if (Array.isArray(opened)) this.events = opened;
    else this.relay = opened;
    return this.next();
  }
}
