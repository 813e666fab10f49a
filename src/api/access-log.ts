/**
 * The access log: one line per finished inference request (serve-generation.ts), on stdout with
 * the server's other lines, in the same JSON shape. It is written in batches, one write per 4 KB
 * or per `flushMs`, not one per request: where stdout is a pipe (a container runtime, a service
 * manager), a write per line also wakes the reader per line, which cost the request thread
 * 20-40 µs a request in the gateway bench (docs/decisions/0009-gateway-hot-path.md). It has no
 * redaction paths (their wildcard walk cost ~8 µs a line): its fields are ids, names and counts,
 * never a key or a body. Lines still buffered when the process exits are written on exit.
 */
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';

export interface AccessLog {
  logger: Logger;
  /** Writes what is buffered and stops the timer. */
  close(): void;
}

export function openAccessLog(level: string, flushMs = 100): AccessLog {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const logger = pino({ level, base: { pid: process.pid, hostname: hostname() } }, destination);
  const timer = setInterval(() => destination.flush(), flushMs);
  timer.unref();
  return {
    logger,
    close: () => {
      clearInterval(timer);
      try {
        destination.flushSync();
      } catch {
        // Not open yet, or already closed: nothing of ours is buffered.
      }
    },
  };
}
