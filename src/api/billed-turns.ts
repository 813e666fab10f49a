/**
 * The turns of one client request that makes several engine calls (the tool loop of chat's
 * `nimbus.devices`, a response's turns), on the one accounting path: the first turn is the
 * request's own billed call (its row has the id the client got); each later turn is a billed call
 * of its own, reserved before it runs (a budget is checked per turn), with that id as its parent.
 */
import type { EngineCall, GenerationEvent } from '../core/engine.js';
import { newTimeOrderedId } from '../core/ids.js';
import type { ModelRoute } from '../core/model-route.js';
import type { ChatCompletionRequest } from '../core/openai/request-schemas.js';
import type { Principal } from '../core/principal.js';
import type { BilledCall } from '../tenancy/accounting/billed-call.js';
import { billedGeneration } from '../tenancy/accounting/billed-runs.js';
import { estimateChatPromptTokens } from '../tenancy/estimate-prompt-tokens.js';
import type { ServerContext } from './server-context.js';

/** The first turn: billed on the request's own call, whose row carries this turn's usage (the client gets every turn's). */
export async function* firstTurn(billed: BilledCall, events: AsyncIterable<GenerationEvent>): AsyncGenerator<GenerationEvent> {
  for await (const event of events) {
    if (event.type === 'done') billed.billOnly(event);
    yield event;
  }
}

/** Who a later turn is billed to and how it is named. */
export interface LaterTurn {
  principal: Principal;
  route: ModelRoute;
  /** The request's own billed call: the later turn's parent. */
  parent: BilledCall;
  /** The ledger's kind (`chat`, `response`) and the prefix of the turn's own id. */
  kind: string;
  idPrefix: string;
  httpRequestId?: string;
  /** The engine call of the turn (route.chat, or a wrapper such as a response's truncation). */
  chat?: (request: ChatCompletionRequest, call: EngineCall) => AsyncIterable<GenerationEvent>;
}

/** A later turn: a billed call of its own, reserved before it runs, with the request's id as its parent. */
export function laterTurn(context: ServerContext, turn: LaterTurn, request: ChatCompletionRequest, call: EngineCall): AsyncIterable<GenerationEvent> {
  const chat = turn.chat ?? ((body: ChatCompletionRequest, engineCall: EngineCall) => turn.route.chat(body, engineCall));
  return billedGeneration(
    context.accounting,
    {
      requestId: newTimeOrderedId(turn.idPrefix),
      kind: turn.kind,
      principal: turn.principal,
      model: turn.parent.spec.model,
      models: turn.route.models,
      estimate: () => ({
        promptTokens: estimateChatPromptTokens(request),
        maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
        contextLength: turn.parent.spec.estimate().contextLength,
      }),
      stream: false,
      parentId: turn.parent.spec.requestId,
      ...(turn.parent.spec.app ? { app: turn.parent.spec.app } : {}),
      ...(turn.parent.spec.appLimits ? { appLimits: turn.parent.spec.appLimits } : {}),
      ...(turn.httpRequestId !== undefined ? { httpRequestId: turn.httpRequestId } : {}),
    },
    call.cancel,
    (turnCall) => chat(request, turnCall),
  );
}
