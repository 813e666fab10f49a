/**
 * A real remote MCP server for tests: the official SDK's McpServer behind its Streamable HTTP
 * server transport (stateless, JSON answers) on a free port of 127.0.0.1. It records every HTTP
 * request it gets (method, JSON-RPC method, Authorization header) and every tool call.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

export interface McpTestServer {
  /** `http://127.0.0.1:PORT/mcp` */
  url: string;
  port: number;
  /** Every HTTP request: its method, the JSON-RPC method of a POST, its Authorization header. */
  requests: Array<{ method: string; rpc: string | undefined; authorization: string | undefined }>;
  /** Every tool call the server ran: the tool and its arguments. */
  calls: Array<{ name: string; arguments: unknown }>;
  stop(): Promise<void>;
}

function tools(calls: McpTestServer['calls']): McpServer {
  const server = new McpServer({ name: 'test-tools', version: '1.0.0' });
  server.registerTool(
    'lookup',
    {
      description: 'Looks a word up in the glossary.',
      inputSchema: { word: z.enum(['otter', 'vole', 'beaver', 'heron']) },
      annotations: { readOnlyHint: true },
    },
    ({ word }) => {
      calls.push({ name: 'lookup', arguments: { word } });
      return { content: [{ type: 'text', text: `${word}: a small river animal` }] };
    },
  );
  server.registerTool('delete_note', { description: 'Deletes a note.', inputSchema: { id: z.string() } }, ({ id }) => {
    calls.push({ name: 'delete_note', arguments: { id } });
    return { content: [{ type: 'text', text: `deleted ${id}` }] };
  });
  server.registerTool('broken', { description: 'Always fails.', inputSchema: {} }, () => {
    calls.push({ name: 'broken', arguments: {} });
    return { isError: true, content: [{ type: 'text', text: 'the glossary is closed' }] };
  });
  return server;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

export async function startMcpTestServer(): Promise<McpTestServer> {
  const requests: McpTestServer['requests'] = [];
  const calls: McpTestServer['calls'] = [];
  const http = createServer((request, response) => {
    void (async () => {
      const authorization = request.headers.authorization;
      if (request.method !== 'POST') {
        requests.push({ method: request.method ?? '', rpc: undefined, authorization });
        response.writeHead(405, { allow: 'POST' }).end();
        return;
      }
      const body = await readJson(request);
      requests.push({ method: 'POST', rpc: (body as { method?: string }).method, authorization });
      const server = tools(calls);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      response.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(request, response, body);
    })().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    requests,
    calls,
    stop: () => new Promise((done) => http.close(() => done())),
  };
}
