/**
 * Remote MCP tools through a real `nimbus serve` process (stories260K, its `mcp` settings from the
 * config file) and a real MCP server started here with the official SDK: a forced tool choice is
 * held by grammar, so the real engine makes the call and the real server runs it. The header sent
 * to the server appears nowhere in the process's logs or its database.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { McpTestServer } from './support/mcp-test-server.js';
import { startMcpProcessRig, type McpProcessRig } from './support/mcp-process-rig.js';
import { killNimbusProcesses, type NimbusProcess } from './support/nimbus-process.js';
import { skipWithoutSharedModel } from './support/shared-model.js';

const skip = skipWithoutSharedModel();
afterAll(killNimbusProcesses);

describe.skipIf(skip)('remote MCP tools in a nimbus serve process (stories260K)', () => {
  let server: NimbusProcess;
  let mcp: McpTestServer;
  let client: OpenAI;
  let rig: McpProcessRig | undefined;
  beforeAll(async () => {
    rig = await startMcpProcessRig('nimbus-mcp-');
    ({ server, mcp, client } = rig);
  }, 120_000);
  afterAll(async () => rig?.stop());

  test('the real engine’s forced call is held for approval, then run on the real server; the header is in no log and no file', async () => {
    const secret = 'Bearer sk-process-secret-91c2';
    const ask = (requireApproval: 'always' | 'never', maxOutputTokens: number) =>
      client.responses.create({
        model: 'stories260K',
        input: 'Look up a word.',
        tools: [
          {
            type: 'mcp',
            server_label: 'docs',
            server_url: mcp.url,
            allowed_tools: ['lookup'],
            require_approval: requireApproval,
            headers: { Authorization: secret },
          },
        ],
        tool_choice: { type: 'mcp', server_label: 'docs', name: 'lookup' },
        max_output_tokens: maxOutputTokens,
        temperature: 0,
      });
    type Output = Array<{ type: string; [field: string]: unknown }>;
    // Held: the call (valid by grammar) waits for the client; nothing is sent to the server but the listing.
    const held = await ask('always', 128);
    const heldOutput = held.output as unknown as Output;
    expect(heldOutput.map((item) => item.type)).toEqual(['mcp_list_tools', 'mcp_approval_request']);
    expect((heldOutput[0]!.tools as Array<{ name: string }>).map((tool) => tool.name)).toEqual(['lookup']);
    const word = (JSON.parse(String(heldOutput[1]!.arguments)) as { word: string }).word;
    expect(['otter', 'vole', 'beaver', 'heron']).toContain(word);
    expect(mcp.calls).toEqual([]);
    // Run: the same greedy turn, with exactly its tokens as the budget, so the loop ends after the call
    // (stories260K's 512-token context holds no second turn with the tool's result).
    const ran = await ask('never', held.usage!.output_tokens);
    const output = ran.output as unknown as Output;
    expect(output.map((item) => item.type)).toEqual(['mcp_list_tools', 'mcp_call']);
    expect(output[1]).toMatchObject({ status: 'completed', server_label: 'docs', name: 'lookup', output: `${word}: a small river animal`, error: null });
    expect(mcp.calls).toEqual([{ name: 'lookup', arguments: { word } }]);
    expect(mcp.requests.filter((request) => request.method === 'POST').every((request) => request.authorization === secret)).toBe(true);
    // The stored response is in the database (or its WAL) once a retrieve finds it: on SQLite the answer goes out
    // before the commit, and a read of the response waits for it (decision 0020). stop() removes the home.
    const retrieved = JSON.stringify(await client.responses.retrieve(ran.id));
    const files = readdirSync(server.home).filter((name) => name.startsWith('nimbus.db'));
    expect(files).toContain('nimbus.db');
    const bytes = Buffer.concat(files.map((file) => readFileSync(join(server.home, file))));
    expect(bytes.includes(ran.id)).toBe(true);
    expect(bytes.includes('sk-process-secret')).toBe(false);
    expect(retrieved).not.toContain('sk-process-secret');
    await server.stop();
    expect(server.output()).not.toContain('sk-process-secret');
  });
});
