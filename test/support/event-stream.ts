/**
 * Reads `/v1/events` as a client would and keeps what arrived, for tests to wait on. node:http,
 * not fetch: closing it closes the socket at once (undici keeps an aborted socket for its
 * keep-alive timeout, which would hold a stopping server for 4 s).
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

export interface ReceivedEvent {
  type: string;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON of several shapes; the assertions check them
}

export interface EventStream {
  events: ReceivedEvent[];
  /** Resolves with the first event (already received or still to come) that matches, or rejects after `timeoutMs`. */
  next(match: (event: ReceivedEvent) => boolean, timeoutMs?: number): Promise<ReceivedEvent>;
  close(): void;
}

export async function openEventStream(url: string, key?: string): Promise<EventStream> {
  let client: ClientRequest | undefined;
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    client = request(`${url}/v1/events`, { headers: key ? { authorization: `Bearer ${key}` } : {} }, resolve);
    client.once('error', reject);
    client.end();
  });
  if (response.statusCode !== 200) throw new Error(`/v1/events answered ${response.statusCode}`);
  response.setEncoding('utf8');
  const events: ReceivedEvent[] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    let buffer = '';
    try {
      for await (const chunk of response as AsyncIterable<string>) {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (type && data) events.push({ type, data: JSON.parse(data) });
          end = buffer.indexOf('\n\n');
        }
        for (const wake of waiters) wake();
      }
    } catch {
      // closed by the test
    }
  })();
  return {
    events,
    next(match, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = events.find(match);
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching event in ${timeoutMs} ms; received: ${JSON.stringify(events.map((event) => event.type))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => client?.destroy(),
  };
}
