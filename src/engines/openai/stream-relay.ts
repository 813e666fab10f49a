/**
 * Relays an upstream's SSE stream as generation events. Bytes are re-assembled into whole events
 * first (SseDecoder); each event goes on as soon as it is complete, with its payload verbatim.
 * Only events that may carry what accounting needs (a finish reason, usage, an error) and those
 * before the first token are parsed; the rest are forwarded unread and counted.
 *
 * Two phases: `open` resolves at the first token with what came before it held back (the role
 * chunk), so until then a failure is still retryable on another replica. Then the relay is the
 * generation's iterator: `next()` hands out queued events as resolved promises (no generator,
 * one promise per event), and a failure ends the answer with an error carrying the usage so far.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '../../core/clock.js';
import type { EngineCall, GenerationEvent } from '../../core/engine.js';
import { NimbusError } from '../../core/errors.js';
import { Exchange, type ExchangeSink } from './exchange.js';
import type { Replica, Verdict } from './replica.js';
import { SseDecoder } from './sse-decoder.js';
import { StreamAccount, type RelayOptions } from './stream-account.js';
import { AttemptFailure, malformedAnswer } from './upstream-failure.js';
import { wholeAnswer } from './whole-answer.js';

type Delta = Extract<GenerationEvent, { type: 'delta' }>;

/** Events queued for a slow client before the upstream is paused (TCP backpressure takes it from there). */
const highWater = 256;

export class StreamRelay implements ExchangeSink, AsyncIterableIterator<GenerationEvent> {
  private readonly exchange: Exchange;
  private readonly decoder = new SseDecoder();
  /** Events not handed out yet: before the first token, those held back. */
  private queue: GenerationEvent[] = [];
  private taken = 0;
  private opening: { resolve: () => void; reject: (failure: AttemptFailure) => void } | undefined;
  private waiting: { resolve: (result: IteratorResult<GenerationEvent>) => void; reject: (error: unknown) => void } | undefined;
  private committed = false;
  private ended = false;
  private failure: NimbusError | undefined;
  /** The consumer has had the end (or the error), or left. */
  private finished = false;
  private paused = false;
  /** Set when the upstream answered with something other than an event stream. */
  private otherBody: Buffer[] | undefined;
  private readonly account: StreamAccount;
  /** How the stream ended, for the replica's breaker; undefined while it runs or when the client left. */
  verdict: Verdict | undefined;

  constructor(
    private readonly replica: Replica,
    call: EngineCall,
    clock: Clock,
    private readonly options: RelayOptions,
    /** Called once when the consumer is done with the relay (end, error or `return`), with the verdict. */
    private readonly onFinish: (verdict: Verdict) => void,
  ) {
    this.exchange = new Exchange(replica, call, clock, this);
    this.account = new StreamAccount(replica, options);
  }

  /** Sends the request; resolves at the first token (or finish, or end); rejects with an AttemptFailure. */
  open(path: string, body: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.opening = { resolve, reject };
      this.exchange.deadline(this.replica.provider.timeouts.firstTokenMs, 'first token');
      this.exchange.send(path, body);
    });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next event; after the last, `done`; a failure rejects once with a NimbusError carrying the usage so far. */
  next(): Promise<IteratorResult<GenerationEvent>> {
    if (this.taken < this.queue.length) return Promise.resolve({ value: this.take(), done: false });
    if (this.finished || this.ended) return this.settle();
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** The consumer left early: the upstream request is aborted, with no verdict on the replica. */
  return(): Promise<IteratorResult<GenerationEvent>> {
    if (!this.finished) {
      this.finished = true;
      this.exchange.close();
      this.onFinish(this.verdict ?? 'none');
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  /**
   * The next queued event; pass-through events queued behind one another (those of one TCP chunk,
   * or those a slow consumer left waiting) leave as one `sse` event: one promise and one socket
   * write for the lot, instead of one each.
   */
  private take(): GenerationEvent {
    let event = this.queue[this.taken]!;
    this.taken += 1;
    if (event.type === 'delta' && event.raw !== undefined && this.nextIsPassThrough()) event = this.group(event);
    if (this.taken === this.queue.length) {
      this.queue = [];
      this.taken = 0;
      if (this.paused) {
        this.paused = false;
        this.exchange.resume();
      }
    }
    return event;
  }

  private nextIsPassThrough(): boolean {
    const next = this.queue[this.taken];
    return next !== undefined && next.type === 'delta' && next.raw !== undefined;
  }

  /** `first` and the pass-through events right behind it, as one event. */
  private group(first: Delta): Delta {
    let sse = `data: ${first.raw}\n\n`;
    let content = first.content ?? '';
    let toolCalls = first.toolCalls;
    while (this.nextIsPassThrough()) {
      const next = this.queue[this.taken] as Delta;
      this.taken += 1;
      sse += `data: ${next.raw}\n\n`;
      if (next.content) content += next.content;
      if (next.toolCalls) toolCalls = toolCalls ? [...toolCalls, ...next.toolCalls] : next.toolCalls;
    }
    return { type: 'delta', sse, ...(content ? { content } : {}), ...(toolCalls ? { toolCalls } : {}) };
  }

  /** The end of the events: the failure once, then `done`. */
  private settle(): Promise<IteratorResult<GenerationEvent>> {
    const failure = this.failure;
    this.failure = undefined;
    this.finish();
    return failure ? Promise.reject(failure) : Promise.resolve({ value: undefined, done: true });
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.exchange.close();
    this.onFinish(this.verdict ?? 'none');
  }

  // ExchangeSink

  onStart(headers: IncomingHttpHeaders): void {
    const type = headers['content-type'];
    if (typeof type === 'string' && !type.includes('text/event-stream')) this.otherBody = [];
  }

  onChunk(chunk: Buffer): void {
    if (this.otherBody) {
      this.otherBody.push(chunk);
      return;
    }
    if (this.committed) this.exchange.touch();
    try {
      for (const payload of this.decoder.push(chunk)) this.handle(payload);
    } catch (error) {
      this.exchange.fail(error instanceof AttemptFailure ? error : malformedAnswer(this.replica.provider, String(error)));
      return;
    }
    if (this.committed) {
      this.wake();
      if (!this.paused && this.queue.length - this.taken > highWater) {
        this.paused = true;
        this.exchange.pause();
      }
    }
  }

  onEnd(): void {
    try {
      if (this.otherBody) this.notAStream();
      for (const payload of this.decoder.end()) this.handle(payload);
      if (!this.committed && !this.account.sawDone) throw malformedAnswer(this.replica.provider, 'an event stream that ended before its first token');
    } catch (error) {
      this.onFailure(error instanceof AttemptFailure ? error : malformedAnswer(this.replica.provider, String(error)));
      return;
    }
    this.commit();
    if (!this.account.sawDone && !this.account.finishReason) {
      this.verdict = 'failure';
      this.end(this.account.incomplete(new NimbusError('upstream_error', `The upstream '${this.replica.id}' closed the stream before the answer finished.`)));
      return;
    }
    this.verdict = 'success';
    if (this.options.clientWantsUsage && !this.options.parse && !this.account.usage) this.queue.push({ type: 'delta', raw: this.account.usageChunk() });
    this.queue.push(this.account.done());
    this.end();
  }

  onFailure(failure: AttemptFailure): void {
    if (this.finished) return;
    if (!this.committed) {
      this.opening?.reject(failure);
      this.opening = undefined;
      return;
    }
    if (this.exchange.clientGone) {
      this.queue.push(this.account.done());
      this.end();
      return;
    }
    // With its finish reason in, the answer is whole: only the tail (usage, [DONE]) was lost.
    if (this.account.finishReason) {
      this.verdict = 'success';
      this.queue.push(this.account.done());
      this.end();
      return;
    }
    this.verdict = 'failure';
    this.end(this.account.incomplete(failure.error));
  }

  /** Handles one whole event; commits at the first token. Throws AttemptFailure on an unreadable or error event. */
  private handle(payload: string): void {
    const event = this.account.take(payload, !this.committed);
    if (event) this.queue.push(event);
    if (!this.committed && this.account.started) this.commit();
  }

  /** From here on, events go to the client (those held back first): the first-token deadline becomes the idle-gap deadline. */
  private commit(): void {
    if (this.committed) return;
    this.committed = true;
    this.exchange.deadline(this.replica.provider.timeouts.idleMs, 'event');
    this.opening?.resolve();
    this.opening = undefined;
  }

  private end(failure?: NimbusError): void {
    this.ended = true;
    this.failure = failure;
    this.wake();
  }

  /** Hands the next event (or the end) to a consumer waiting for one. */
  private wake(): void {
    const waiting = this.waiting;
    if (!waiting) return;
    if (this.taken < this.queue.length) {
      this.waiting = undefined;
      waiting.resolve({ value: this.take(), done: false });
    } else if (this.ended) {
      this.waiting = undefined;
      this.settle().then(waiting.resolve, waiting.reject);
    }
  }

  /** A JSON body where a stream was asked for: the upstream's error, or a server that does not stream. */
  private notAStream(): never {
    const body = Buffer.concat(this.otherBody ?? []).toString('utf8');
    wholeAnswer(this.replica, this.options.kind, body, this.options.estimatePromptTokens);
    throw malformedAnswer(this.replica.provider, 'a whole answer where an event stream was asked for (does it support "stream": true?)');
  }
}
