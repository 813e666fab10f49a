/**
 * How the admin commands talk to a server: over its HTTP API, like kubectl talks to its API
 * server. `NIMBUS_URL` says where (default http://127.0.0.1:8080), `NIMBUS_API_KEY` who (not
 * needed in local mode). The key is read from the environment only, never a flag, so it stays
 * out of shell history and process lists.
 */

/** A failure the user can act on; the command prints its message and exits 1. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

/** For a command's catch: prints a CommandError's message and returns exit code 1; anything else is a bug and is rethrown. */
export function commandFailure(error: unknown): number {
  if (!(error instanceof CommandError)) throw error;
  console.error(`error: ${error.message}`);
  return 1;
}

/** Calls the admin API of one server. */
export interface AdminClient {
  readonly url: string;
  /** Sends a request; resolves to the parsed JSON body, throws CommandError with the server's message. */
  json<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
  /** GET returning text (CSV). */
  text(path: string): Promise<string>;
  /** POST of a multipart form (a file upload); resolves to the parsed JSON body. */
  form<T>(path: string, form: FormData): Promise<T>;
}

/** A client from the environment. */
export function adminClient(environment: NodeJS.ProcessEnv): AdminClient {
  const url = (environment.NIMBUS_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const key = environment.NIMBUS_API_KEY;
  const send = async (method: string, path: string, body?: unknown): Promise<Response> => {
    let response: Response;
    try {
      response = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body !== undefined && !(body instanceof FormData) ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: body instanceof FormData ? body : JSON.stringify(body) } : {}),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new CommandError(`cannot reach Nimbus at ${url} (${cause}): is 'nimbus serve' running there? Set NIMBUS_URL to its address.`);
    }
    if (response.ok) return response;
    let message = `HTTP ${response.status}`;
    try {
      const parsed = (await response.json()) as { error?: { message?: string } };
      if (parsed.error?.message) message = parsed.error.message;
    } catch {
      // Not an OpenAI error body: the status says enough.
    }
    if (response.status === 401) message += key ? ' (the key in NIMBUS_API_KEY was refused)' : ' (set NIMBUS_API_KEY to an admin key)';
    throw new CommandError(message);
  };
  return {
    url,
    json: async <T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown) => (await (await send(method, path, body)).json()) as T,
    text: async (path: string) => (await send('GET', path)).text(),
    form: async <T>(path: string, form: FormData) => (await (await send('POST', path, form)).json()) as T,
  };
}
