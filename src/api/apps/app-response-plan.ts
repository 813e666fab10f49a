/**
 * A response plan made for an app: the response object names the app and version it ran (kept
 * with the stored response), every ledger row of it carries them, an app with a post-check holds
 * its answer for it (held-answer.ts), and a completed answer adds one exchange to the end user's
 * memory before the response closes (so the next call sees it).
 */
import type { Item } from '../../responses/response-items.js';
import type { ResponsePlan } from '../responses/serve-response.js';
import type { ServerContext } from '../server-context.js';
import { rememberExchange, type AppCall } from './app-call.js';
import { heldAnswerFor } from './held-answer.js';

export function withApp(context: ServerContext, plan: ResponsePlan, call: AppCall): void {
  plan.response.app = { name: call.app.name, version: call.app.liveVersion };
  plan.app = call.billing;
  plan.appLimits = call.limits;
  const held = heldAnswerFor(context, call, plan.response.id);
  if (held) {
    plan.heldAnswer = held;
    plan.response.post_check = held.summary();
  }
  if (call.endUser === undefined) return;
  plan.completed = (response) => rememberExchange(context, call, lastUserText(plan.inputItems), outputText(response));
}

/** The text of a content given as a string or as parts. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : '')).join(' ');
}

/** The last user message this request sent. */
function lastUserText(items: readonly Item[]): string {
  for (let index = items.length - 1; index >= 0; index -= 1) {
    const item = items[index]!;
    if (item.type === 'message' && item.role === 'user') return textOf(item.content);
  }
  return '';
}

/** The answer's text: every output message's text. */
function outputText(response: Record<string, unknown>): string {
  const output = (response.output as Item[] | undefined) ?? [];
  return output
    .filter((item) => item.type === 'message')
    .map((item) => textOf(item.content))
    .join(' ');
}
