import { describe, expect, test } from 'vitest';
import { hostAllowed, refusedAddress } from './address-policy.js';

describe('refusedAddress', () => {
  test('public addresses pass', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111']) expect(refusedAddress(address, { allowLoopback: false })).toBeUndefined();
  });

  test('loopback is refused unless the operator allows it', () => {
    for (const address of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1']) {
      expect(refusedAddress(address, { allowLoopback: false })).toBe('loopback');
      expect(refusedAddress(address, { allowLoopback: true })).toBeUndefined();
    }
  });

  test('private, link-local, CGNAT, unspecified, multicast and IPv4 inside IPv6 are refused, even with loopback allowed', () => {
    for (const address of [
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:10.0.0.1',
      '::ffff:a9fe:a9fe',
      '64:ff9b::a9fe:a9fe',
    ])
      expect(refusedAddress(address, { allowLoopback: true }), address).toBeDefined();
  });
});

describe('hostAllowed', () => {
  test('exact names, subdomain patterns and *', () => {
    expect(hostAllowed('MCP.Example.com', ['mcp.example.com'])).toBe(true);
    expect(hostAllowed('a.b.example.com', ['*.example.com'])).toBe(true);
    expect(hostAllowed('example.com', ['*.example.com'])).toBe(false);
    expect(hostAllowed('evilexample.com', ['*.example.com'])).toBe(false);
    expect(hostAllowed('anything.net', ['*'])).toBe(true);
    expect(hostAllowed('[::1]', ['::1'])).toBe(true);
    expect(hostAllowed('other.com', [])).toBe(false);
  });
});
