/**
 * Uploads a file from the browser to `/v1/files` as multipart form data (the one request the
 * console sends that is not JSON), with this tab's key; failures in words, as `api` gives them.
 */
import { ApiError, authHeaders, describeFailure } from './client.js';
import type { UploadedFile } from './types.js';

/** Sends `file` with `purpose` (default `assistants`, what vector stores read). */
export async function uploadFile(file: File, purpose = 'assistants'): Promise<UploadedFile> {
  const form = new FormData();
  form.append('purpose', purpose);
  form.append('file', file, file.name);
  let response: Response;
  try {
    // No content-type header: the browser writes the multipart boundary itself.
    response = await fetch('/v1/files', { method: 'POST', headers: authHeaders(), body: form });
  } catch {
    throw new ApiError('Cannot reach the Nimbus server to upload the file.', 0, null);
  }
  const body = (await response.json().catch(() => null)) as unknown;
  if (!response.ok) throw describeFailure(response.status, body);
  return body as UploadedFile;
}
