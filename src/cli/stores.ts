/**
 * `nimbus stores`: vector stores on a server. `create NAME [PATH...]` and `add STORE PATH|file-ID...`
 * upload local files, add them in one file batch and show a progress bar until every file is
 * indexed or failed (the failures with their reasons); `search STORE QUERY` prints scored chunks.
 */
import { commandArgs } from './command-args.js';
import { adminClient, CommandError, commandFailure, type AdminClient } from './admin-client.js';
import { uploadFile } from './files.js';
import { ProgressBar } from './progress-bar.js';
import { formatSeconds, renderTable } from './render-table.js';
import { terminalSafe } from './terminal-text.js';

export const storesUsage = `Usage: nimbus stores [ls] [--json]
       nimbus stores create NAME [PATH|file-ID...] [--attr KEY=VALUE]...
       nimbus stores add STORE PATH|file-ID... [--attr KEY=VALUE]...
       nimbus stores files STORE
       nimbus stores search STORE QUERY [-n N] [--filter JSON] [--json]
       nimbus stores rm STORE

Local paths are uploaded first (purpose assistants); ids starting 'file-' name files already
uploaded. Attributes apply to every file added (numbers and true/false are sent as such).
Talks to NIMBUS_URL (default http://127.0.0.1:8080) with the key in NIMBUS_API_KEY.`;

interface StoreView {
  id: string;
  name: string;
  status: string;
  usage_bytes: number;
  file_counts: { in_progress: number; completed: number; failed: number; cancelled: number; total: number };
  created_at: number;
}

interface BatchView {
  id: string;
  status: string;
  file_counts: StoreView['file_counts'];
}

/** `KEY=VALUE` flags as attributes: numbers and booleans keep their type. */
export function parseAttributes(pairs: readonly string[]): Record<string, string | number | boolean> {
  const attributes: Record<string, string | number | boolean> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CommandError(`--attr takes KEY=VALUE, not '${pair}'`);
    const value = pair.slice(at + 1);
    attributes[pair.slice(0, at)] =
      value === 'true' ? true : value === 'false' ? false : value !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return attributes;
}

/** Uploads local paths (ids pass through), adds them as one batch, and follows it with a progress bar. */
async function addFiles(
  client: AdminClient,
  storeId: string,
  sources: readonly string[],
  attributes: Record<string, string | number | boolean>,
): Promise<number> {
  const bar = new ProgressBar();
  const fileIds: string[] = [];
  for (const [index, source] of sources.entries()) {
    fileIds.push(source.startsWith('file-') ? source : (await uploadFile(client, source, 'assistants')).id);
    bar.update(index + 1, sources.length, 'uploaded');
  }
  if (sources.length > 0) bar.finish();
  let batch = await client.json<BatchView>('POST', `/v1/vector_stores/${encodeURIComponent(storeId)}/file_batches`, {
    files: fileIds.map((file_id) => ({ file_id, ...(Object.keys(attributes).length > 0 ? { attributes } : {}) })),
  });
  for (;;) {
    const counts = batch.file_counts;
    bar.update(counts.completed + counts.failed + counts.cancelled, counts.total, `indexed${counts.failed > 0 ? ` (${counts.failed} failed)` : ''}`);
    if (batch.status !== 'in_progress') break;
    await new Promise((resolve) => setTimeout(resolve, 250));
    batch = await client.json<BatchView>('GET', `/v1/vector_stores/${encodeURIComponent(storeId)}/file_batches/${batch.id}`);
  }
  bar.finish();
  if (batch.file_counts.failed === 0) return 0;
  const failed = await client.json<{ data: Array<{ id: string; last_error: { code: string; message: string } | null }> }>(
    'GET',
    `/v1/vector_stores/${encodeURIComponent(storeId)}/file_batches/${batch.id}/files?filter=failed&limit=100`,
  );
  for (const file of failed.data) console.error(`failed ${file.id}: ${terminalSafe(file.last_error?.message ?? 'unknown reason')}`);
  return 1;
}

export async function storesCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  const parsed = commandArgs(
    argv,
    {
      attr: { type: 'string', multiple: true },
      n: { type: 'string', short: 'n' },
      filter: { type: 'string' },
      json: { type: 'boolean' },
    },
    storesUsage,
    usageError,
  );
  if (typeof parsed === 'number') return parsed;
  const [action = 'ls', ...rest] = parsed.positionals;
  const client = adminClient(environment);
  try {
    const attributes = parseAttributes(parsed.values.attr ?? []);
    switch (action) {
      case 'ls':
      case 'list': {
        const list = await client.json<{ data: StoreView[] }>('GET', '/v1/vector_stores?limit=100');
        console.log(parsed.values.json ? JSON.stringify(list.data, null, 2) : render(list.data));
        return 0;
      }
      case 'create': {
        const [name, ...sources] = rest;
        if (!name) return usageError('name the store');
        const store = await client.json<StoreView>('POST', '/v1/vector_stores', { name });
        console.log(`created ${store.id} (${name})`);
        return sources.length > 0 ? addFiles(client, store.id, sources, attributes) : 0;
      }
      case 'add': {
        const [storeId, ...sources] = rest;
        if (!storeId || sources.length === 0) return usageError('name the store and the files to add');
        return addFiles(client, storeId, sources, attributes);
      }
      case 'files': {
        if (rest.length !== 1) return usageError('name one store');
        const list = await client.json<{ data: Array<{ id: string; status: string; usage_bytes: number; last_error: { message: string } | null }> }>(
          'GET',
          `/v1/vector_stores/${encodeURIComponent(rest[0]!)}/files?limit=100`,
        );
        console.log(
          renderTable([
            ['FILE', 'STATUS', 'BYTES', 'ERROR'],
            ...list.data.map((file) => [file.id, file.status, String(file.usage_bytes), terminalSafe(file.last_error?.message ?? '')]),
          ]),
        );
        return 0;
      }
      case 'search': {
        const [storeId, ...words] = rest;
        if (!storeId || words.length === 0) return usageError('name the store and the query');
        let filters: unknown;
        try {
          filters = parsed.values.filter === undefined ? undefined : JSON.parse(parsed.values.filter);
        } catch {
          return usageError('--filter takes JSON, e.g. {"type":"eq","key":"year","value":2024}');
        }
        const results = await client.json<{ data: Array<{ file_id: string; filename: string; score: number; content: Array<{ text: string }> }> }>(
          'POST',
          `/v1/vector_stores/${encodeURIComponent(storeId)}/search`,
          { query: words.join(' '), max_num_results: Number(parsed.values.n ?? 5), ...(filters === undefined ? {} : { filters }) },
        );
        if (parsed.values.json) console.log(JSON.stringify(results.data, null, 2));
        else if (results.data.length === 0) console.log('no results');
        else
          for (const hit of results.data)
            console.log(
              `${hit.score.toFixed(3)}  ${terminalSafe(hit.filename)} (${hit.file_id})\n  ${terminalSafe((hit.content[0]?.text ?? '').replace(/\s+/g, ' ').slice(0, 200))}`,
            );
        return 0;
      }
      case 'rm':
        if (rest.length !== 1) return usageError('name one store');
        await client.json('DELETE', `/v1/vector_stores/${encodeURIComponent(rest[0]!)}`);
        console.log(`deleted ${rest[0]}`);
        return 0;
      default:
        return usageError(`unknown action '${action}'`);
    }
  } catch (error) {
    return commandFailure(error);
  }
}

function render(stores: readonly StoreView[]): string {
  if (stores.length === 0) return 'no vector stores';
  return renderTable([
    ['ID', 'NAME', 'STATUS', 'FILES', 'FAILED', 'BYTES', 'CREATED'],
    ...stores.map((store) => [
      store.id,
      terminalSafe(store.name),
      store.status,
      String(store.file_counts.total),
      String(store.file_counts.failed),
      String(store.usage_bytes),
      formatSeconds(store.created_at),
    ]),
  ]);
}

function usageError(message: string): number {
  console.error(`error: ${message}\n\n${storesUsage}`);
  return 2;
}
