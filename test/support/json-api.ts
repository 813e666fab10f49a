/** A test's JSON calls to a server: the status and the parsed body of any request, with an optional bearer key. */

/** What a call returned: the body parsed from JSON (undefined when empty). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of many shapes; the assertions check them
export type JsonAnswer = { status: number; body: any };

export async function callJson(baseUrl: string, method: string, path: string, body?: unknown, key?: string): Promise<JsonAnswer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}
