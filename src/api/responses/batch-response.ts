/**
 * A batch's `/v1/responses` line: the same plan and tool loop as `POST /v1/responses`, run
 * without an HTTP request as one billed call of the line (its ledger id, the batch discount, day
 * and month budgets only, batch priority). Never streamed; `store` is false unless the line sets
 * it (a batch of thousands should not fill the tenant's response storage by default); only
 * function tools, whose calls come back as `function_call` items (the caller checks this).
 */
import type { Cancellation } from '../../core/cancellation.js';
import type { NimbusError } from '../../core/errors.js';
import { parseRequest } from '../../core/openai/parse-request.js';
import { responseRequestSchema } from '../../core/openai/response-request-schema.js';
import type { Principal } from '../../core/principal.js';
import type { Usage } from '../../core/openai/response-types.js';
import { ResponseBuilder } from '../../responses/response-builder.js';
import type { ResponseRecords } from '../../responses/response-records.js';
import { estimateChatPromptTokens } from '../../tenancy/estimate-prompt-tokens.js';
import { authorizeInference } from '../../tenancy/usage-gate.js';
import { functionExecutor } from '../../tools/function-executor.js';
import { checkApprovalsHaveServers } from './mcp-tool.js';
import type { ServerContext } from '../server-context.js';
import { planResponse } from './plan-response.js';
import { run, storedRecord } from './serve-response.js';

/** One response line to run. */
export interface ResponseLine {
  principal: Principal;
  /** The line's ledger id (fixed per try: a line run again after a crash is billed once). */
  requestId: string;
  batchId: string;
  /** Multiplies the line's prices (`batchDiscount`). */
  priceFactor: number;
  body: Record<string, unknown>;
  cancel: Cancellation;
}

/** What the line answered: the response object (completed, incomplete or failed), and the tokens of every turn. */
export interface ResponseLineAnswer {
  body: Record<string, unknown>;
  usage: Usage | undefined;
}

/** Runs response lines over the server's records and engines. */
export function batchResponses(context: ServerContext, records: ResponseRecords, maxToolTurns: number) {
  return async (line: ResponseLine): Promise<ResponseLineAnswer> => {
    const body = parseRequest(responseRequestSchema, { ...line.body, stream: false, store: line.body.store ?? false });
    const caller = { principal: line.principal };
    authorizeInference(line.principal, body.model, context.catalog.canonical(body.model));
    const route = context.catalog.route(body.model);
    if (body.store) await records.checkQuota(line.principal.tenantId);
    const plan = await planResponse(body, caller, {
      records,
      route,
      contextLength: route.primary.engine.models().find((model) => model.id === route.primary.model)?.contextLength,
      maxToolTurns,
      tools: async (parsed, _caller, conversation) => {
        // No MCP tools in a batch (nobody is there to approve), so an mcp_approval_response is refused too.
        checkApprovalsHaveServers(conversation, parsed, false);
        const functions = (parsed.tools ?? []).flatMap((tool) => (tool.type === 'function' ? [tool] : []));
        return {
          executors: functions.length > 0 ? [functionExecutor(functions)] : [],
          items: {},
          citations: () => [],
          acted: () => false,
          setUp: () => Promise.resolve(),
          close: () => Promise.resolve(),
          resume: [],
        };
      },
    });
    const billed = context.accounting.open({
      requestId: line.requestId,
      kind: 'response',
      principal: line.principal,
      model: plan.response.model,
      models: plan.route.models,
      estimate: () => ({
        promptTokens: estimateChatPromptTokens({ messages: plan.chat.messages, tools: plan.executors.flatMap((executor) => executor.definitions) }),
        maxTokens: plan.maxOutputTokens,
        contextLength: plan.contextLength,
      }),
      stream: false,
      batchId: line.batchId,
      priceFactor: line.priceFactor,
      budgetsOnly: true,
      priority: 'batch',
    });
    let failure: NimbusError | undefined;
    let usage: Usage | undefined;
    const builder = new ResponseBuilder(plan.response, undefined);
    try {
      try {
        const admitted = billed.admit();
        if (admitted) await admitted;
      } catch (error) {
        throw billed.failed(error);
      }
      builder.started();
      ({ failure, usage } = await run(context, caller, plan, billed, builder, line.cancel));
      if (failure) throw failure;
      if (plan.store) await records.save(storedRecord(plan, line.principal, builder), { waited: true });
      return { body: builder.response, usage };
    } finally {
      billed.end(line.cancel.aborted);
    }
  };
}
