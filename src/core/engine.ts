/**
 * The Engine contract: the only thing the HTTP layer knows about where tokens come from.
 * The in-process llama.cpp engine, an OpenAI-compatible upstream and the compute pool all
 * implement it, and one contract test suite runs against each.
 */
import type { Cancellation } from './cancellation.js';
import type { ChatCompletionRequest, CompletionRequest } from './openai/request-schemas.js';
import type { FinishReason, ToolCallDelta, Usage } from './openai/response-types.js';
import type { StaticWorkerView } from './pool-control.js';

/**
 * A request's class in the queues for slots and replicas: `interactive` (someone waits for the
 * answer; the default) or `batch` (a Batch API line: it takes what interactive requests leave free
 * and yields at a token boundary when one waits; decision 0017).
 */
export type Priority = 'interactive' | 'batch';

/** Per-request context an engine receives with every call. */
export interface EngineCall {
  /** The request id, for logs and for the upstream's own tracing. */
  requestId: string;
  /**
   * Cancelled when the client goes away or the server gives up: stop generating, free the slot.
   * Subscribe with `onAbort`; `cancel.signal` makes a real AbortSignal for libraries that need one.
   */
  cancel: Cancellation;
  /**
   * Called once for each try at serving the request: every replica an engine tries, and every
   * model a fallback tries, before the first event. The HTTP layer turns the list into response
   * headers (they must be known before the first byte) and the request log's `route`. A try
   * that served and was then cut (its replica lost mid-stream) is reported again with its error,
   * which replaces the earlier report, and the try that continued it is reported `continued`
   * (a stream's headers are gone by then: it goes in the `x-nimbus-route` trailer and the log).
   * Engines that do not pick replicas need not call it; the catalog's route reports the model they served.
   */
  onAttempt?: (attempt: Attempt) => void;
  /**
   * The most tokens the call may generate where the request sets no `max_tokens` (nor
   * `max_completion_tokens`): the cap admission reserved against a token or cost limit. Engines
   * must hold the generation to it (an upstream gets it in the field its provider takes), so a
   * budget is a ceiling; the answer then ends with `finish_reason: "length"`. Absent: no cap.
   */
  maxTokens?: number;
  /**
   * Its class (default `interactive`). A `batch` call waits behind interactive ones for a slot
   * and may be paused at a token boundary and resumed later as a continuation of its own output
   * (the answer is then one valid continuation, not the tokens an unpaused run would give);
   * engines that front other servers pass it on (the pool's workers, as `x-nimbus-priority`).
   */
  priority?: Priority;
}

/** One try at serving a request, as `EngineCall.onAttempt` reports it. */
export interface Attempt {
  /** The model name tried, after aliases; a fallback tries another. */
  model: string;
  /** The replica tried (an upstream provider id), where the engine picks one. */
  servedBy?: string;
  /**
   * The error code that ended this try: before its first event, or, where the engine continues a
   * stream elsewhere, after it (the try is then reported again with the code). Absent on the try
   * that serves.
   */
  error?: string;
  /** This try continued the text an earlier try had started streaming (its replica was lost mid-answer). */
  continued?: boolean;
}

/**
 * What a generation emits, in order: zero or more deltas, then exactly one `done`.
 * A delta carries text, whole tool calls, or both; the HTTP layer turns each into an SSE chunk
 * (streaming) or concatenates them (non-streaming), so both paths produce the same text.
 * A failure after the first event is thrown from the iterator as a NimbusError whose `usage`
 * counts what was generated before it; the HTTP layer ends the stream with an error event.
 */
export type GenerationEvent =
  | {
      type: 'delta';
      content?: string;
      toolCalls?: ToolCallDelta[];
      /**
       * An upstream's own bytes for this event, forwarded verbatim so a chunk that only needs
       * forwarding is never re-serialized: one SSE `data:` payload (no newlines) when streaming,
       * the whole JSON body when not. When set, the HTTP layer writes it as-is and `content` /
       * `toolCalls` only inform accounting (set where the engine parsed them, at least on the
       * first token, so time to first token is measured). A generation whose first event has
       * `raw` is a pass-through: the HTTP layer adds no opening, finish or usage chunk of its own
       * (the upstream sent them), only the final `data: [DONE]`.
       */
      raw?: string;
      /**
       * A pass-through stream's events that arrived together, already framed as server-sent
       * events (`data: …\n\n` each): the HTTP layer writes them as they are, in one write, where
       * an engine would otherwise hand over one `raw` event at a time. `content` and
       * `toolCalls` then describe the group as a whole, for accounting.
       */
      sse?: string;
    }
  | {
      type: 'done';
      finishReason: FinishReason;
      usage: Usage;
      /** Which replica or upstream served it, for the request log (`worker:slot`, a URL host, ...). */
      servedBy?: string;
      /** Where the tokens were computed and for how long: the ledger's compute-seconds and their price. Absent for upstreams. */
      compute?: ComputeReport;
    };

/** Where a generation ran and for how long, as an engine that computes it reports (not an upstream). */
export interface ComputeReport {
  /** The class of device priced per hour: `cpu`, `cuda`, `vulkan`, `metal`, or a pool's GPU type (`nvidia-h100`). */
  deviceClass: string;
  /** Seconds the request held its slot on that device (queue time excluded). */
  seconds: number;
  /** The pool worker, where a pool served it. */
  worker?: string;
  /** The pool deployment, where a pool served it. */
  deployment?: string;
}

/** Lifecycle of a model inside an engine. */
export type ModelState = 'loading' | 'ready' | 'failed';

/** A model an engine serves (or is trying to), as /v1/models and /readyz report it. */
export interface ModelStatus {
  /** The name clients use in `model`. */
  id: string;
  /** The engine kind that serves it: `llama`, `openai`, `pool`. */
  engine: string;
  state: ModelState;
  /** Why it is not ready, in words that say how to fix it. */
  error?: string;
  /** Unix seconds when it became known to the server. */
  created: number;
  contextLength?: number;
  /** Embedding vector length, where the model can embed. */
  embeddingLength?: number;
  /** Where it is served: a file path, an upstream host, worker names. */
  servedBy?: string[];
}

/**
 * An embeddings request as engines get it: the inputs as a list, and what else the client sent
 * except `encoding_format` (Nimbus encodes vectors itself): `dimensions`, `user` and fields
 * Nimbus does not know pass on to an upstream engine; Nimbus's own engine ignores them.
 */
export interface EmbeddingRequest {
  model: string;
  input: string[];
  dimensions?: number;
  user?: string;
  [field: string]: unknown;
}

/** Token counts of an embeddings call. */
export interface EmbeddingResult {
  embeddings: number[][];
  promptTokens: number;
  /** Which replica or slot computed it, for the ledger (as a generation's `done.servedBy`). */
  servedBy?: string;
  /** Where it was computed and for how long (engines that compute it, not upstreams). */
  compute?: ComputeReport;
}

/** Anything that turns requests into tokens. Implementations live in src/engines/. */
export interface Engine {
  /** Short kind name: `llama`, `openai`, `pool`. */
  readonly kind: string;
  /** The models this engine serves or is loading now. */
  models(): ModelStatus[];
  /** A chat completion as a stream of events; throws NimbusError before the first event on refusal. */
  chat(request: ChatCompletionRequest, call: EngineCall): AsyncIterable<GenerationEvent>;
  /** A text completion of one prompt (the HTTP layer fans out prompt lists). */
  complete(request: CompletionRequest & { prompt: string }, call: EngineCall): AsyncIterable<GenerationEvent>;
  /** Embeds each input; one vector per input, in order. */
  embed(request: EmbeddingRequest, call: EngineCall): Promise<EmbeddingResult>;
  /** Live load figures for /metrics and routing. */
  load(): EngineLoad;
  /**
   * How many tokens the model's own tokenizer makes of `text` (as `embed` counts an input), where
   * this engine holds the tokenizer in process (llama); undefined otherwise (a model not loaded,
   * the pool's remote replicas, upstreams), and callers estimate. Knowledge chunking uses it.
   */
  countTokens?(model: string, text: string): number | undefined;
  /** The servers outside the pool this engine sends requests to, shown in the pool as static workers (upstream engines). */
  staticWorkers?(): StaticWorkerView[];
  /** Frees models and native memory. Idempotent. */
  close(): Promise<void>;
}

/** Load of an engine right now: what /metrics exports and what routers read. */
export interface EngineLoad {
  /** Requests generating now. */
  active: number;
  /** Requests waiting for a slot. */
  queued: number;
  /** Batch generations asked so far to give their slot to an interactive request (engines with a slot queue of their own). */
  batchYields?: number;
  /** Batch generations that took a slot again after yielding, so far. */
  batchResumes?: number;
  /** Interactive requests that took a spare slot beside batch generations (none of them yielded), so far. */
  spareTakes?: number;
}
