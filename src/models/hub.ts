/**
 * Hugging Face Hub conventions: where a repository file downloads from, and its size and sha256.
 * A HEAD on the resolve URL answers, for LFS files, with a redirect carrying `x-linked-size` and
 * `x-linked-etag` (the sha256, quoted); the tree API is the fallback for metadata.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { ModelDownloadError, toModelDownloadError } from './model-download-error.js';
import { formatModelRef, type HfModelRef } from './model-ref.js';
import { firstHeader, requestFollowingRedirects } from './request-following-redirects.js';

/** Where to download a file from, and what it should turn out to be. */
export interface HfFile {
  url: string;
  size?: number;
  /** Lowercase hex; only LFS files have one (small git files have a sha1 etag, not used). */
  sha256?: string;
}

/** Which hub to ask, and as whom. */
export interface ResolveHfFileOptions {
  /** `https://huggingface.co`, a mirror, or a test server. */
  endpoint: string;
  /** Sent as `Authorization: Bearer`, for gated and private repositories. */
  token?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

const treeEntries = z.array(z.object({ path: z.string(), size: z.number().optional(), lfs: z.object({ oid: z.string(), size: z.number() }).optional() }));

/** `${endpoint}/${owner}/${repo}/resolve/${revision}/${file}`, each part URL-encoded. */
export function hfFileUrl(ref: HfModelRef, endpoint: string): string {
  const file = ref.file.split('/').map(encodeURIComponent).join('/');
  return `${trimSlash(endpoint)}/${ref.owner}/${ref.repo}/resolve/${encodeURIComponent(ref.revision)}/${file}`;
}

/** Headers for requests to the hub: the token, when there is one. */
export function hfHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** The download URL of `ref` with its size and sha256 where the hub gives them; throws ModelDownloadError. */
export async function resolveHfFile(ref: HfModelRef, options: ResolveHfFileOptions): Promise<HfFile> {
  const url = hfFileUrl(ref, options.endpoint);
  const headers = hfHeaders(options.token);
  let response;
  try {
    response = await requestFollowingRedirects(url, {
      method: 'HEAD',
      headers,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      stopAt: (answer) => answer['x-linked-size'] !== undefined,
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw toModelDownloadError(formatModelRef(ref), error);
  }
  await response.body.dump();
  if (response.statusCode >= 400) {
    throw new ModelDownloadError(formatModelRef(ref), hubErrorReason(ref, response.statusCode, response.headers, url), {
      retryable: response.statusCode === 429 || response.statusCode >= 500,
    });
  }
  let size = integer(firstHeader(response.headers, 'x-linked-size'));
  let sha256 = sha256FromEtag(firstHeader(response.headers, 'x-linked-etag'));
  if (size === undefined && response.statusCode === 200 && firstHeader(response.headers, 'content-encoding') === undefined) {
    size = integer(firstHeader(response.headers, 'content-length'));
  }
  if (sha256 === undefined) {
    const entry = await treeEntry(ref, options).catch(() => undefined);
    sha256 = entry?.lfs?.oid;
    size ??= entry?.lfs?.size ?? entry?.size;
  }
  return { url, size, sha256 };
}

// Metadata is a bonus: a failure here must not stop a download the HEAD already allowed.
async function treeEntry(ref: HfModelRef, options: ResolveHfFileOptions): Promise<z.infer<typeof treeEntries>[number] | undefined> {
  const folder = ref.file.includes('/') ? `/${ref.file.slice(0, ref.file.lastIndexOf('/')).split('/').map(encodeURIComponent).join('/')}` : '';
  const url = `${trimSlash(options.endpoint)}/api/models/${ref.owner}/${ref.repo}/tree/${encodeURIComponent(ref.revision)}${folder}`;
  const response = await requestFollowingRedirects(url, {
    method: 'GET',
    headers: hfHeaders(options.token),
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  });
  if (response.statusCode !== 200) {
    await response.body.dump();
    return undefined;
  }
  const entries = treeEntries.safeParse(await response.body.json());
  const entry = entries.success ? entries.data.find((candidate) => candidate.path === ref.file) : undefined;
  if (entry?.lfs && !/^[0-9a-f]{64}$/.test(entry.lfs.oid)) return { ...entry, lfs: undefined };
  return entry;
}

/** Why the hub refused, from its `x-error-code` header where present, else from the status. */
function hubErrorReason(ref: HfModelRef, status: number, headers: IncomingHttpHeaders, url: string): string {
  const repository = `${ref.owner}/${ref.repo}`;
  const tokenHint = `set HF_TOKEN to a Hugging Face token that can read it, then run 'nimbus pull ${formatModelRef(ref)}' again`;
  const code = firstHeader(headers, 'x-error-code');
  switch (code) {
    case 'RepoNotFound':
      return `the repository ${repository} does not exist or is private (if private, ${tokenHint})`;
    case 'GatedRepo':
      return `the repository ${repository} is gated: accept its terms on its Hugging Face page and ${tokenHint}`;
    case 'RevisionNotFound':
      return `the revision '${ref.revision}' does not exist in ${repository}`;
    case 'EntryNotFound':
      return `the file '${ref.file}' does not exist in ${repository} at revision '${ref.revision}'`;
    default:
      if (status === 404) return `${url} was not found (HTTP 404): check the owner, repository, revision and file name`;
      if (status === 401 || status === 403) return `access to ${repository} was refused (HTTP ${status}); ${tokenHint}`;
      if (status === 429) return 'the hub is rate limiting requests (HTTP 429); wait a minute';
      return `${new URL(url).host} answered HTTP ${status}${status >= 500 ? ' (the hub may be down; try again later)' : ''}`;
  }
}

/** `"<64 hex>"` or `W/"<64 hex>"` -> the hex; anything else (a git sha1) -> undefined. */
function sha256FromEtag(etag: string | undefined): string | undefined {
  const value = etag?.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
  return value !== undefined && /^[0-9a-f]{64}$/.test(value) ? value : undefined;
}

function integer(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
}

function trimSlash(endpoint: string): string {
  return endpoint.replace(/\/+$/, '');
}
