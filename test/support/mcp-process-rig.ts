/**
 * A real `nimbus serve` process (stories260K, one slot, its `mcp` settings from a config file that
 * lets it reach loopback MCP servers) beside a real MCP server started with the official SDK, and
 * the official `openai` client pointed at the process.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startMcpTestServer, type McpTestServer } from './mcp-test-server.js';
import { startNimbusProcess, waitReady, type NimbusProcess } from './nimbus-process.js';
import { storiesPath } from './shared-model.js';

export interface McpProcessRig {
  server: NimbusProcess;
  mcp: McpTestServer;
  client: OpenAI;
  stop(): Promise<void>;
}

/** `prefix` names the temporary folder of the config file. */
export async function startMcpProcessRig(prefix: string): Promise<McpProcessRig> {
  const mcp = await startMcpTestServer();
  const config = join(mkdtempSync(join(tmpdir(), prefix)), 'nimbus.json');
  writeFileSync(config, JSON.stringify({ mcp: { allowedHosts: ['127.0.0.1'], allowLoopback: true, callTimeoutMs: 5000 } }));
  const server = await startNimbusProcess(['--config', config, '--model', storiesPath!, '--threads', '1', '--ctx', '1024', '--slots', '1']);
  await waitReady(server.url);
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'local', maxRetries: 0 });
  return {
    server,
    mcp,
    client,
    async stop() {
      await server.stop();
      await mcp.stop();
    },
  };
}
