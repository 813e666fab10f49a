/**
 * The console's only way to the server: the public HTTP API, with the API key the person signed
 * in with (kept in sessionStorage, so it leaves with the tab). Errors become `ApiError`s whose
 * message a person can read.
 */

const storageKey = 'nimbus.apiKey';

/** The key of this tab, or '' when signed out (or in local mode). */
export function storedKey(): string {
  try {
    return sessionStorage.getItem(storageKey) ?? '';
  } catch {
    return '';
  }
}

/** Keeps the key for this tab ('' signs out). */
export function storeKey(key: string): void {
  // A refusal held for the old key says nothing about the new one.
  missed = null;
  if (key) sessionStorage.setItem(storageKey, key);
  else sessionStorage.removeItem(storageKey);
}

/** An API failure, in words, with the server's code when it sent one. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/** The sentence to show for a failed response. */
export function describeFailure(status: number, body: unknown): ApiError {
  const error = (body as { error?: { message?: string; code?: string } } | null)?.error;
  const said = error?.message;
  const code = error?.code ?? null;
  if (status === 401) return new ApiError(`The server did not accept this API key. ${said ?? ''}`.trim(), status, code);
  if (status === 403) return new ApiError(`This API key may not do that. ${said ?? ''}`.trim(), status, code);
  if (status === 429) return new ApiError(`Too many requests or a limit reached: ${said ?? 'try again shortly.'}`, status, code);
  if (said) return new ApiError(said, status, code);
  return new ApiError(`The server answered ${status} without an explanation.`, status, code);
}

/** Headers with the key, when there is one. */
export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const key = storedKey();
  return key ? { ...extra, authorization: `Bearer ${key}` } : extra;
}

/** Sends a request; resolves with the parsed JSON body or throws an ApiError in words. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: authHeaders(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError('Cannot reach the Nimbus server. Is it running, and is this page served by it?', 0, null);
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const failure = describeFailure(response.status, parsed);
    if (response.status === 401) refusedKey(failure.message);
    throw failure;
  }
  return parsed as T;
}

/**
 * Fired (on `window`) when the server refuses this tab's key, or refuses a tab without one: local
 * mode ended (the first key was made, here or elsewhere) or the key was revoked. The shell goes
 * back to the sign-in form with the reason instead of leaving every panel on a 401.
 */
export const unauthorizedEvent = 'nimbus:unauthorized';

let holds = 0;
let missed: string | null = null;

function refusedKey(message: string): void {
  if (holds > 0) missed = message;
  else dispatchEvent(new CustomEvent(unauthorizedEvent, { detail: message }));
}

/**
 * Holds the sign-out a 401 causes while something must stay on screen (a new key, shown once);
 * returns the release, which passes on a refusal that came meanwhile.
 */
export function holdSignOut(): () => void {
  holds += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holds -= 1;
    if (holds === 0 && missed !== null) {
      const message = missed;
      missed = null;
      refusedKey(message);
    }
  };
}

/** A list endpoint's `data`. */
export async function list<T>(path: string): Promise<T[]> {
  return (await api<{ data: T[] }>('GET', path)).data;
}

/** Fetches a file (CSV) with the key and hands it to the browser as a download. */
export async function download(path: string, filename: string): Promise<void> {
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok) throw describeFailure(response.status, await response.json().catch(() => null));
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
