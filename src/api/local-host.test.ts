import { expect, test } from 'vitest';
import { NimbusError } from '../core/errors.js';
import { checkLocalHost } from './local-host.js';

const allowed = new Set(['nimbus.internal:8080', 'tunnel.example']);
const passes = (host: string | undefined, port: number | undefined): boolean => {
  try {
    checkLocalHost(host, port, allowed);
    return true;
  } catch (error) {
    expect(error).toBeInstanceOf(NimbusError);
    expect((error as NimbusError).status).toBe(403);
    return false;
  }
};

test.each([
  ['localhost:8080', 8080, true],
  ['LOCALHOST:8080', 8080, true],
  ['127.0.0.1:8080', 8080, true],
  ['[::1]:8080', 8080, true],
  ['localhost', 80, true],
  ['localhost:8081', 8080, false],
  ['localhost', 8080, false],
  ['attacker.example:8080', 8080, false],
  ['attacker.example', 80, false],
  ['localhost.attacker.example:8080', 8080, false],
  ['127.0.0.1.nip.io:8080', 8080, false],
  ['127.0.0.2:8080', 8080, false],
  ['[::1]', 8080, false],
  ['', 8080, false],
  [undefined, 8080, false],
  ['nimbus.internal:8080', 8080, true],
  ['nimbus.internal:9090', 8080, false],
  ['nimbus.internal', 8080, false],
  ['tunnel.example', 8080, true],
  ['tunnel.example:9000', 8080, false],
  // In-process requests (tests) come in on no port: any port of a loopback name passes, no other name does.
  ['localhost:80', undefined, true],
  ['attacker.example:80', undefined, false],
] as const)('Host %s on port %s: %s', (host, port, expected) => {
  expect(passes(host, port)).toBe(expected);
});
