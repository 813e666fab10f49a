/**
 * DNS rebinding: a web page on `attacker.example` can rebind its own name to 127.0.0.1, and the
 * browser then lets it read a server on loopback as if it were its own origin. In local mode
 * (loopback, no key ever created) such a page would be the operator, able to mint an admin key.
 * The one thing it cannot change is the Host header: the browser sends the page's own name. So in
 * local mode a request must be addressed to a loopback name with the port it came in on
 * (`localhost:8080`, `127.0.0.1:8080`, `[::1]:8080`) or to a name the operator listed.
 */
import { NimbusError } from '../core/errors.js';

const loopbackNames = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Throws 403 unless `host` (the Host header) is a loopback name with `port` (the port the
 * connection came in on; any port where unknown, as for in-process test requests) or is listed in
 * `allowed` (lower-case, with or without a port).
 */
export function checkLocalHost(host: string | undefined, port: number | undefined, allowed: ReadonlySet<string>): void {
  const given = (host ?? '').toLowerCase();
  if (allowed.has(given)) return;
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(given);
  const name = match?.[1] ?? '';
  const givenPort = match?.[2] === undefined ? 80 : Number(match[2]);
  if (allowed.has(name) && match?.[2] === undefined) return;
  if (loopbackNames.has(name) && (port === undefined || givenPort === port)) return;
  throw new NimbusError(
    'permission_denied',
    `This server is in local mode (no API key exists yet), so it answers only requests addressed to a loopback name with its port (localhost:${port ?? 'PORT'}); this one was addressed to '${host ?? ''}'. Open it by that name, add the name to allowedHosts, or create an API key ('nimbus keys create --admin').`,
  );
}
