/**
 * `nimbus batches`: create a batch from a local JSONL file (uploaded with purpose `batch`) and
 * follow it with a live progress bar, list, show and cancel batches, and print a batch's output
 * or error file, over the server's `/v1/batches` and `/v1/files`.
 */
import { readFile } from 'node:fs/promises';
import { commandArgs } from './command-args.js';
import { adminClient, CommandError, commandFailure, type AdminClient } from './admin-client.js';
import { uploadFile } from './files.js';
import { ProgressBar } from './progress-bar.js';
import { formatSeconds, renderTable } from './render-table.js';

export const batchesUsage = `Usage: nimbus batches [ls] [--json]
       nimbus batches create FILE [--endpoint ENDPOINT] [--wait] [--metadata KEY=VALUE]...
       nimbus batches show ID
       nimbus batches wait ID
       nimbus batches cancel ID
       nimbus batches output ID [--errors]     (the output file, or the error file, to stdout)

FILE has one request a line: {"custom_id", "method": "POST", "url", "body"}. ENDPOINT is
/v1/chat/completions, /v1/completions, /v1/embeddings or /v1/responses (or chat, completions,
embeddings, responses); without it, the first line's url. --wait follows the batch with a progress
bar until it ends (exit 0 when completed, 1 otherwise).

Talks to the server at NIMBUS_URL (default http://127.0.0.1:8080) with the key in NIMBUS_API_KEY
(not needed in local mode; the key needs inference scope).`;

/** A batch as the API shows it. */
interface BatchView {
  id: string;
  endpoint: string;
  status: string;
  created_at: number;
  output_file_id: string | null;
  error_file_id: string | null;
  request_counts: { total: number; completed: number; failed: number };
  errors: { data: Array<{ code: string; message: string; line: number | null }> } | null;
}

const endpoints: Record<string, string> = {
  chat: '/v1/chat/completions',
  completions: '/v1/completions',
  embeddings: '/v1/embeddings',
  responses: '/v1/responses',
};
const finalStatuses = new Set(['completed', 'failed', 'expired', 'cancelled']);

/** The endpoint asked for, or the url of the file's first request. */
async function endpointOf(path: string, asked: string | undefined): Promise<string> {
  if (asked) return endpoints[asked] ?? asked;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CommandError(`cannot read '${path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const first = text.split('\n').find((line) => line.trim() !== '');
  try {
    const url = (JSON.parse(first ?? '') as { url?: unknown }).url;
    if (typeof url === 'string') return url;
  } catch {
    // Said below: the server checks each line when the batch is created.
  }
  throw new CommandError(`cannot tell the endpoint from '${path}''s first line: pass --endpoint (chat, completions, embeddings or responses)`);
}

/** Follows a batch with a progress bar until it ends; resolves to its last state. */
async function follow(client: AdminClient, batch: BatchView): Promise<BatchView> {
  const bar = new ProgressBar();
  for (;;) {
    const counts = batch.request_counts;
    bar.update(counts.completed + counts.failed, counts.total, `${batch.status}${counts.failed > 0 ? ` (${counts.failed} failed)` : ''}`);
    if (finalStatuses.has(batch.status)) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
    batch = await client.json<BatchView>('GET', `/v1/batches/${encodeURIComponent(batch.id)}`);
  }
  bar.finish();
  return batch;
}

/** What a batch that ended says, and the exit code (0 only when completed). */
function ending(batch: BatchView): number {
  for (const error of batch.errors?.data ?? []) console.error(`${error.line === null ? '' : `line ${error.line}: `}${error.code}: ${error.message}`);
  const files = [batch.output_file_id && `output ${batch.output_file_id}`, batch.error_file_id && `errors ${batch.error_file_id}`].filter(Boolean);
  console.log(`${batch.id} ${batch.status}${files.length > 0 ? `: ${files.join(', ')}` : ''}`);
  return batch.status === 'completed' ? 0 : 1;
}

export async function batchesCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  const parsed = commandArgs(
    argv,
    {
      endpoint: { type: 'string' },
      wait: { type: 'boolean' },
      metadata: { type: 'string', multiple: true },
      errors: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    batchesUsage,
    usageError,
  );
  if (typeof parsed === 'number') return parsed;
  const [action = 'ls', ...rest] = parsed.positionals;
  const client = adminClient(environment);
  const one = (): string => {
    if (rest.length !== 1) throw new CommandError(`name one batch id: nimbus batches ${action} ID`);
    return encodeURIComponent(rest[0]!);
  };
  try {
    switch (action) {
      case 'ls':
      case 'list': {
        const list = await client.json<{ data: BatchView[] }>('GET', '/v1/batches?limit=100');
        console.log(parsed.values.json ? JSON.stringify(list.data, null, 2) : render(list.data));
        return 0;
      }
      case 'create': {
        if (rest.length !== 1) return usageError('name one JSONL file');
        const endpoint = await endpointOf(rest[0]!, parsed.values.endpoint);
        const metadata = Object.fromEntries(
          (parsed.values.metadata ?? []).map((pair) => {
            const at = pair.indexOf('=');
            if (at <= 0) throw new CommandError(`--metadata takes KEY=VALUE, not '${pair}'`);
            return [pair.slice(0, at), pair.slice(at + 1)];
          }),
        );
        const file = await uploadFile(client, rest[0]!, 'batch');
        const batch = await client.json<BatchView>('POST', '/v1/batches', {
          input_file_id: file.id,
          endpoint,
          completion_window: '24h',
          ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
        });
        console.log(`created ${batch.id} (${endpoint}, input ${file.id})`);
        return parsed.values.wait ? ending(await follow(client, batch)) : 0;
      }
      case 'show':
        console.log(JSON.stringify(await client.json('GET', `/v1/batches/${one()}`), null, 2));
        return 0;
      case 'wait':
        return ending(await follow(client, await client.json<BatchView>('GET', `/v1/batches/${one()}`)));
      case 'cancel': {
        const batch = await client.json<BatchView>('POST', `/v1/batches/${one()}/cancel`);
        console.log(`${batch.id} ${batch.status}`);
        return 0;
      }
      case 'output': {
        const batch = await client.json<BatchView>('GET', `/v1/batches/${one()}`);
        const fileId = parsed.values.errors ? batch.error_file_id : batch.output_file_id;
        if (!fileId) {
          const what = parsed.values.errors ? 'error' : 'output';
          throw new CommandError(
            finalStatuses.has(batch.status)
              ? `${batch.id} has no ${what} file (no line ${parsed.values.errors ? 'failed' : 'succeeded'})`
              : `${batch.id} is ${batch.status}: its files are written when it ends (nimbus batches wait ${batch.id})`,
          );
        }
        process.stdout.write(await client.text(`/v1/files/${encodeURIComponent(fileId)}/content`));
        return 0;
      }
      default:
        return usageError(`unknown action '${action}'`);
    }
  } catch (error) {
    return commandFailure(error);
  }
}

function render(batches: readonly BatchView[]): string {
  if (batches.length === 0) return 'no batches';
  return renderTable([
    ['ID', 'ENDPOINT', 'STATUS', 'DONE', 'FAILED', 'CREATED'],
    ...batches.map((batch) => {
      const counts = batch.request_counts;
      return [
        batch.id,
        batch.endpoint,
        batch.status,
        `${counts.completed + counts.failed}/${counts.total}`,
        String(counts.failed),
        formatSeconds(batch.created_at),
      ];
    }),
  ]);
}

function usageError(message: string): number {
  console.error(`error: ${message}\n\n${batchesUsage}`);
  return 2;
}
