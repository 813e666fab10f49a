/**
 * One HTTP exchange with an upstream, on undici's dispatcher API: the response arrives as
 * callbacks (no Readable stream, no AbortController, no promise per chunk), which is what keeps
 * the gateway's cost per request near a bare proxy's. A deadline passing, the client leaving,
 * a non-2xx status or a broken connection each end the exchange with one AttemptFailure.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Clock } from '../../core/clock.js';
import type { EngineCall } from '../../core/engine.js';
import type { Replica } from './replica.js';
import { AttemptFailure, failureFromError, failureFromStatus, UpstreamTimeout } from './upstream-failure.js';

/** Tells a pool worker (a Nimbus server) that the request is a batch line: it waits behind interactive ones there (decision 0017). */
const batchHeader = { 'x-nimbus-priority': 'batch' };

/** Where a 2xx response goes. Exactly one of `onEnd` and `onFailure` is called, once. */
export interface ExchangeSink {
  /** Status and headers of a 2xx response, before its body. */
  onStart?(headers: IncomingHttpHeaders): void;
  onChunk(chunk: Buffer): void;
  onEnd(): void;
  onFailure(failure: AttemptFailure): void;
}

export class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Body of a non-2xx answer, read for its error message. */
  private errorBody: Buffer[] | undefined;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  /** The sink has had its end or failure. */
  private settled = false;
  private stopListening: (() => void) | undefined;
  private readonly onClientGone = (): void =>
    this.fail(new AttemptFailure(failureFromError(this.replica.provider, this.call.cancel.reason).error, false, 'none'));

  constructor(
    readonly replica: Replica,
    private readonly call: EngineCall,
    private readonly clock: Clock,
    private readonly sink: ExchangeSink,
  ) {}

  /** Whether the client went away (as opposed to the upstream failing). */
  get clientGone(): boolean {
    return this.call.cancel.aborted;
  }

  /** Sends a POST with a JSON body; the answer goes to the sink. */
  send(path: string, body: string): void {
    if (this.call.cancel.aborted) return this.onClientGone();
    this.stopListening = this.call.cancel.onAbort(this.onClientGone);
    const provider = this.replica.provider;
    provider.pool.dispatch(
      {
        path: provider.basePath + path,
        method: 'POST',
        headers: { ...provider.headers, 'x-request-id': this.call.requestId, ...(this.call.priority === 'batch' ? batchHeader : {}) },
        body,
      },
      this,
    );
  }

  /** Starts (or replaces) the deadline: past `ms`, the exchange fails as timed out. */
  deadline(ms: number, waitingFor: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fail(failureFromError(this.replica.provider, new UpstreamTimeout(waitingFor, ms))), ms);
  }

  /** Pushes the deadline back by its full length: called on every chunk once tokens flow (idle gap). */
  touch(): void {
    this.timer?.refresh();
  }

  /** Stops reading the response (the consumer is slow); `resume` reads on. */
  pause(): void {
    this.controller?.pause();
  }

  resume(): void {
    this.controller?.resume();
  }

  /** Ends the exchange with `failure`: the request is aborted and the sink told, unless it already ended. */
  fail(failure: AttemptFailure): void {
    if (this.settled) return;
    this.finish();
    if (this.controller && !this.controller.aborted) this.controller.abort(failure);
    this.sink.onFailure(failure);
  }

  /** Frees the deadline and the listener; aborts the request if it still runs (a stream left early). */
  close(): void {
    if (!this.settled) this.fail(new AttemptFailure(failureFromError(this.replica.provider, new Error('closed by Nimbus')).error, false, 'none'));
    this.finish();
  }

  // undici's handler interface

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // A deadline or the client may have ended it while it waited for a connection.
    if (this.settled) controller.abort(new Error('exchange already ended'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200 || this.settled) return;
    this.status = statusCode;
    this.headers = headers;
    if (statusCode >= 300) this.errorBody = [];
    else this.sink.onStart?.(headers);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    if (this.errorBody) this.errorBody.push(chunk);
    else this.sink.onChunk(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    if (this.errorBody) {
      const text = Buffer.concat(this.errorBody).toString('utf8');
      this.fail(failureFromStatus(this.replica.provider, this.status, this.headers, text, this.clock.now()));
      return;
    }
    this.finish();
    this.sink.onEnd();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.settled) return;
    this.fail(error instanceof AttemptFailure ? error : failureFromError(this.replica.provider, error));
  }

  private finish(): void {
    this.settled = true;
    clearTimeout(this.timer);
    this.stopListening?.();
    this.stopListening = undefined;
  }
}

/** Sends a POST and resolves with the whole 2xx body as text, within `timeoutMs`; rejects with an AttemptFailure. */
export function fetchWhole(replica: Replica, call: EngineCall, clock: Clock, path: string, body: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const exchange = new Exchange(replica, call, clock, {
      onChunk: (chunk) => chunks.push(chunk),
      onEnd: () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')),
      onFailure: reject,
    });
    exchange.deadline(timeoutMs, 'whole answer');
    exchange.send(path, body);
  });
}
