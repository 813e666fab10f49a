/**
 * The only way Nimbus reaches a tenant's MCP server: a fetch that checks every request's host
 * against the operator's list and every connection's resolved address against the address policy
 * (at connect time, so a name that resolves to a public address when checked and to a private one
 * when used, DNS rebinding, is still refused), with a connect timeout, no redirects to follow, and
 * a cap on the bytes of each response.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { hostAllowed, refusedAddress, type AddressPolicy } from './address-policy.js';

/** What the guarded fetch enforces. */
export interface NetworkLimits extends AddressPolicy {
  connectTimeoutMs: number;
  maxResponseBytes: number;
}

/** A request Nimbus refuses to make for a tenant; its message says why and is safe to show them. */
export class McpRefusal extends Error {
  override readonly name = 'McpRefusal';
}

/** The fetch the MCP SDK's transport takes. */
export type GuardedFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * Checks a server URL before anything is sent: the scheme (https; plain http only to loopback with
 * the operator's switch), the host against the list, and the addresses it resolves to now.
 * Throws McpRefusal for what policy forbids; a name that does not resolve is left to the connection.
 */
export async function checkServerUrl(url: URL, limits: AddressPolicy): Promise<void> {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new McpRefusal(`use an https:// URL (got ${url.protocol})`);
  if (url.username || url.password) throw new McpRefusal('put credentials in headers, not in the URL');
  if (limits.allowedHosts.length === 0)
    throw new McpRefusal('remote MCP servers are off on this server: the operator lists the hosts tenants may reach in the mcp.allowedHosts setting');
  if (!hostAllowed(url.hostname, limits.allowedHosts))
    throw new McpRefusal(`host '${url.hostname}' is not among the hosts this server's operator allows (mcp.allowedHosts)`);
  const addresses = await resolve(url.hostname);
  for (const address of addresses) {
    const refused = refusedAddress(address, limits);
    if (refused) throw new McpRefusal(`host '${url.hostname}' resolves to ${address}, ${refused}, which MCP servers may not be on`);
  }
  if (url.protocol === 'http:' && !(addresses.length > 0 && addresses.every((address) => isLoopbackAllowed(address, limits))))
    throw new McpRefusal('use an https:// URL: plain http is allowed only to loopback, with the operator switch mcp.allowLoopback');
}

function isLoopbackAllowed(address: string, limits: AddressPolicy): boolean {
  return limits.allowLoopback && refusedAddress(address, { allowLoopback: false }) === 'loopback';
}

/** The addresses a host stands for now ([] when it does not resolve). */
async function resolve(host: string): Promise<string[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return [bare];
  return new Promise((done) => dnsLookup(bare, { all: true }, (error, found) => done(error ? [] : found.map((entry) => entry.address))));
}

/** A lookup that refuses, at connect time, a name resolving to an address the policy forbids. */
function guardedLookup(check: (address: string) => string | undefined): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { family: options.family ?? 0, hints: options.hints ?? 0, all: true }, (error, found: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const bad = found.map((entry) => [entry.address, check(entry.address)] as const).find(([, reason]) => reason !== undefined);
      if (bad || found.length === 0) {
        const refusal = Object.assign(new McpRefusal(`host '${hostname}' resolves to ${bad?.[0] ?? 'nothing'}, which MCP servers may not be on`), {
          code: 'ENOTFOUND',
        });
        return callback(refusal, '', 0);
      }
      if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, found);
      callback(null, found[0]!.address, found[0]!.family);
    });
  };
}

/** The guarded fetch for one set of limits (build it once: its connections are pooled). */
export function guardedFetch(limits: NetworkLimits): GuardedFetch {
  const connect = (check: (address: string) => string | undefined): Agent =>
    new Agent({ connect: { timeout: limits.connectTimeoutMs, lookup: guardedLookup(check) }, headersTimeout: 0, bodyTimeout: 0 });
  const secure = connect((address) => refusedAddress(address, limits));
  // Plain http only ever reaches loopback, and only with the operator's switch.
  const plain = connect((address) => (isLoopbackAllowed(address, limits) ? undefined : 'not loopback, and plain http goes only there'));
  return async (input, init) => {
    const url = new URL(input);
    if (!hostAllowed(url.hostname, limits.allowedHosts)) throw new McpRefusal(`host '${url.hostname}' is not among the allowed hosts`);
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    const check = url.protocol === 'https:' ? (address: string) => refusedAddress(address, limits) : undefined;
    if (isIP(literal)) {
      const refused = check ? check(literal) : isLoopbackAllowed(literal, limits) ? undefined : 'not loopback';
      if (refused) throw new McpRefusal(`address ${literal} may not be reached: ${refused}`);
    }
    const redirect = init?.redirect === 'manual' ? 'manual' : 'error';
    const answer = await undiciFetch(url, {
      ...(init as Record<string, unknown>),
      redirect,
      dispatcher: url.protocol === 'https:' ? secure : plain,
    });
    return capped(answer, limits.maxResponseBytes);
  };
}

/** The response with its body cut off (an error) past `max` bytes. */
function capped(response: Response, max: number): Response {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > max) {
    void response.body?.cancel();
    throw new McpRefusal(`the MCP server's response is ${declared} bytes, more than this server's limit of ${max} (mcp.maxResponseBytes)`);
  }
  if (!response.body || [101, 204, 205, 304].includes(response.status)) return response;
  let seen = 0;
  const limited = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > max) controller.error(new McpRefusal(`the MCP server's response passed this server's limit of ${max} bytes (mcp.maxResponseBytes)`));
        else controller.enqueue(chunk);
      },
    }),
  );
  return new Response(limited, { status: response.status, statusText: response.statusText, headers: response.headers });
}
