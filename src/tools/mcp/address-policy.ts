/**
 * Which addresses and hosts a tenant's MCP `server_url` may reach (decision 0018): a host the
 * operator listed, resolved to public addresses only. Loopback is allowed by an operator switch
 * (tests, development); private, link-local, carrier-grade NAT, multicast and reserved ranges
 * never are, and IPv4 inside IPv6 (`::ffff:10.0.0.1`, NAT64) is judged by its IPv4 address.
 */
import { BlockList, isIP } from 'node:net';

/** What decides whether a host and its addresses may be reached. */
export interface AddressPolicy {
  /** Host patterns: `mcp.example.com`, `*.example.com`, an IP literal, or `*`. */
  allowedHosts: readonly string[];
  allowLoopback: boolean;
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** Every range that is not the public internet, loopback aside (IANA special-purpose registries). */
const nonPublic = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  nonPublic.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  nonPublic.addSubnet(network, prefix, 'ipv6');

/** The IPv4 address an IPv6 address carries (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`), if any. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return undefined;
  const high = parseInt(hex[1]!, 16);
  const low = parseInt(hex[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** Why an address may not be reached (`loopback`, `a private or reserved range`), or undefined when it may. */
export function refusedAddress(address: string, policy: Pick<AddressPolicy, 'allowLoopback'>): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const inner = family === 6 ? embeddedIpv4(address) : undefined;
  const [checked, type] = inner !== undefined ? [inner, 'ipv4' as const] : [address, family === 4 ? ('ipv4' as const) : ('ipv6' as const)];
  if (loopback.check(checked, type)) return policy.allowLoopback ? undefined : 'loopback';
  if (nonPublic.check(checked, type)) return 'a private, link-local or reserved range';
  return undefined;
}

/** Whether the operator's list names this host (case-insensitive; `*.example.com` covers its subdomains). */
export function hostAllowed(host: string, allowedHosts: readonly string[]): boolean {
  const name = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  return allowedHosts.some((pattern) => {
    const lower = pattern.toLowerCase().replace(/^\[|\]$/g, '');
    if (lower === '*') return true;
    if (lower.startsWith('*.')) return name.endsWith(lower.slice(1));
    return name === lower;
  });
}
