/**
 * Remote MCP tools of `/v1/responses` (`tools: [{type: "mcp", server_url, ...}]`): Nimbus makes
 * outbound requests for tenants, so the operator says where they may go (decision 0018). With no
 * host listed, MCP tools are refused with a 400 that says so.
 */
import { z } from 'zod';

/** A host name (`mcp.example.com`), a subdomain pattern (`*.example.com`), an IP literal, or `*` for any public host. */
const hostPattern = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(\*|(\*\.)?[a-zA-Z0-9._:[\]-]+)$/, 'use a host name without scheme or port, e.g. mcp.example.com, *.example.com or *');

export const mcpConfigSchema = z.strictObject({
  /** Hosts a tenant's `server_url` may name. Empty (the default): remote MCP tools are off. */
  allowedHosts: z.array(hostPattern).max(1000).default([]),
  /**
   * Lets `server_url` reach this machine's loopback addresses (127.0.0.0/8, ::1), over plain http
   * too: for tests and development. Private, link-local and other non-public addresses stay refused.
   */
  allowLoopback: z.boolean().default(false),
  /** Milliseconds to open a connection to an MCP server (TCP and TLS) and to initialize the session. */
  connectTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** Milliseconds one MCP request (a tool listing, a tool call) may take. */
  callTimeoutMs: z.number().int().min(100).max(600_000).default(60_000),
  /** Bytes one HTTP response of an MCP server may carry; past it the listing or call fails. */
  maxResponseBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /** Tools one server may offer a response (after `allowed_tools`); a longer list fails the listing. */
  maxTools: z.number().int().min(1).max(1000).default(100),
  /** MCP servers one request may name. */
  maxServers: z.number().int().min(1).max(64).default(8),
});

export type McpConfig = z.infer<typeof mcpConfigSchema>;
