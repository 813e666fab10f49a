/**
 * A client that keeps its own history (no `previous_response_id`, `store: false`, as OpenAI
 * allows) sends an earlier response's MCP items back as input: `mcp_list_tools`,
 * `mcp_approval_request`, then its `mcp_approval_response`, and on a later turn the `mcp_call`
 * that followed. The official `openai` client against a real `nimbus serve` process (stories260K,
 * a forced tool choice held by grammar so the real engine makes the call) and a real MCP server
 * started here with the official SDK: the approved call runs once, on the continuation that
 * approves it, never again on a later turn that carries it as history.
 */
import type OpenAI from 'openai';
import type { ResponseInputItem } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { McpTestServer } from './support/mcp-test-server.js';
import { startMcpProcessRig, type McpProcessRig } from './support/mcp-process-rig.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { skipWithoutSharedModel } from './support/shared-model.js';

const skip = skipWithoutSharedModel();
afterAll(killNimbusProcesses);

type Output = Array<{ type: string; [field: string]: unknown }>;

describe.skipIf(skip)('MCP items sent back by a stateless client (nimbus serve, stories260K)', () => {
  let mcp: McpTestServer;
  let client: OpenAI;
  let rig: McpProcessRig | undefined;
  beforeAll(async () => {
    rig = await startMcpProcessRig('nimbus-mcp-stateless-');
    ({ mcp, client } = rig);
  }, 120_000);
  afterAll(async () => rig?.stop());

  test('an approval sent after the request item in the input runs the held call; carried as history later, it does not run again', async () => {
    const tools: OpenAI.Responses.Tool[] = [{ type: 'mcp', server_label: 'docs', server_url: mcp.url, allowed_tools: ['lookup'], require_approval: 'always' }];
    const turn = (input: ResponseInputItem[], maxOutputTokens = 64) =>
      client.responses.create({
        model: 'stories260K',
        input,
        tools,
        tool_choice: { type: 'mcp', server_label: 'docs', name: 'lookup' },
        max_output_tokens: maxOutputTokens,
        temperature: 0,
        store: false,
      });
    const history: ResponseInputItem[] = [{ role: 'user', content: 'Look up a word.' }];
    const held = await turn(history, 128);
    const heldOutput = held.output as unknown as Output;
    expect(heldOutput.map((item) => item.type)).toEqual(['mcp_list_tools', 'mcp_approval_request']);
    const request = heldOutput[1]!;
    const word = (JSON.parse(String(request.arguments)) as { word: string }).word;
    expect(mcp.calls).toEqual([]);

    // The client's own history: the held response's items, then its answer.
    history.push(...(held.output as ResponseInputItem[]), { type: 'mcp_approval_response', approval_request_id: String(request.id), approve: true });
    const approved = await turn(history);
    const calls = (approved.output as unknown as Output).filter((item) => item.type === 'mcp_call');
    expect(calls[0]).toMatchObject({
      status: 'completed',
      server_label: 'docs',
      name: 'lookup',
      arguments: request.arguments,
      output: `${word}: a small river animal`,
      error: null,
      approval_request_id: request.id,
    });
    expect(mcp.calls).toEqual([{ name: 'lookup', arguments: { word } }]);

    // A later turn carries the approval and its call as history: the model sees the call's result, nothing runs again.
    history.push(...(approved.output as ResponseInputItem[]), { role: 'user', content: 'Thank you.' });
    const later = await turn(history, 8);
    expect(later.status).not.toBe('failed');
    expect(mcp.calls).toHaveLength(1);
    // Answering the same request again, as if it were new, is refused: it was answered.
    await expect(turn([...history, { type: 'mcp_approval_response', approval_request_id: String(request.id), approve: true }])).rejects.toMatchObject({
      status: 400,
      param: `input[${history.length}].approval_request_id`,
    });
  });
});
