/**
 * An app's answer held back for its post-check (config `post_check`): the text is collected
 * instead of sent, checked whole with the files of the passages the model was given, and only then
 * released, as it is, marked, or replaced by the check's refusal. So an app with a post-check
 * never streams token by token: a stream gets the checked text in one piece at the end (decision
 * 0015, "Post-checks"). A replaced answer finishes as `content_filter` (OpenAI's word for it), so
 * the request log's row says so, and the server logs which check and why.
 */
import type { FastifyBaseLogger } from 'fastify';
import { NimbusError } from '../../core/errors.js';
import type { FileSearchRecord } from '../../knowledge/file-search-executor.js';
import { postCheckNamed, type PostCheck, type PostCheckVerdict } from '../../templates/post-checks.js';
import type { ServerContext } from '../server-context.js';
import type { AppCall } from './app-call.js';

/** What the answer carries about its check (`post_check` of a response, `nimbus.post_check` of a chat completion). */
export interface PostCheckSummary {
  name: string;
  action: PostCheckVerdict['action'];
  reasons: string[];
}

const rank = { pass: 0, marked: 1, replaced: 2 } as const;

export class HeldAnswer {
  private held = '';
  private readonly sources: string[] = [];
  private verdict: PostCheckSummary;

  constructor(
    readonly name: string,
    private readonly postCheck: PostCheck,
    private readonly log: { logger: FastifyBaseLogger; requestId: string; app: string },
  ) {
    this.verdict = { name, action: 'pass', reasons: [] };
  }

  /** Text the model produced, kept until `release`. */
  hold(text: string): void {
    this.held += text;
  }

  /** A tool's record: a file search's passages become sources of what is said after it. */
  heard(record: unknown): void {
    const results = (record as Partial<FileSearchRecord> | undefined)?.results;
    if (Array.isArray(results)) for (const hit of results) this.sources.push(hit.filename);
  }

  /** Checks the text held so far and returns what to send ('' when nothing was held). */
  release(): string {
    const text = this.held;
    this.held = '';
    if (!text) return '';
    const verdict = this.postCheck.check({ text, sources: this.sources });
    if (rank[verdict.action] > rank[this.verdict.action]) this.verdict.action = verdict.action;
    this.verdict.reasons = [...new Set([...this.verdict.reasons, ...verdict.reasons])];
    if (verdict.action === 'replaced')
      this.log.logger.warn(
        { requestId: this.log.requestId, app: this.log.app, postCheck: this.name, reasons: verdict.reasons },
        'an app’s post-check replaced its answer with the check’s refusal',
      );
    return verdict.text;
  }

  /** Whether any part of the answer was replaced. */
  get replaced(): boolean {
    return this.verdict.action === 'replaced';
  }

  summary(): PostCheckSummary {
    return { ...this.verdict, reasons: [...this.verdict.reasons] };
  }
}

/**
 * The held answer of an app call, where its live version names a post-check. A name this build
 * does not know (a version written by a newer release) refuses the call: an answer is never sent
 * unchecked when its app asked for a check.
 */
export function heldAnswerFor(context: ServerContext, call: AppCall, requestId: string): HeldAnswer | undefined {
  const name = call.app.config.post_check;
  if (name === undefined) return undefined;
  const postCheck = postCheckNamed(name);
  if (!postCheck)
    throw new NimbusError(
      'conflict',
      `App '${call.app.name}' (version ${call.app.liveVersion}) names the post-check '${name}', which this server does not have; its answers cannot be checked, so none is sent. Publish a version without it, or run a release that has it.`,
      { param: 'model' },
    );
  return new HeldAnswer(name, postCheck, { logger: context.logger, requestId, app: call.app.name });
}
