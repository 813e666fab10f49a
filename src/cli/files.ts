/** `nimbus files`: upload, list, show, download and delete files (`/v1/files`) on a server. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { commandArgs } from './command-args.js';
import { adminClient, CommandError, commandFailure, type AdminClient } from './admin-client.js';
import { formatSeconds, renderTable } from './render-table.js';

export const filesUsage = `Usage: nimbus files [ls] [--purpose PURPOSE] [--json]
       nimbus files upload PATH... [--purpose assistants]
       nimbus files show ID
       nimbus files get ID          (the content, to stdout)
       nimbus files rm ID...

Talks to the server at NIMBUS_URL (default http://127.0.0.1:8080) with the key in NIMBUS_API_KEY
(not needed in local mode; the key needs inference scope).`;

/** A file as the API shows it. */
export interface FileView {
  id: string;
  filename: string;
  bytes: number;
  purpose: string;
  created_at: number;
  expires_at: number | null;
}

/** Uploads one local file; resolves to the API's file. */
export async function uploadFile(client: AdminClient, path: string, purpose: string): Promise<FileView> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new CommandError(`cannot read '${path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const form = new FormData();
  form.set('purpose', purpose);
  form.set('file', new Blob([bytes]), basename(path));
  return client.form<FileView>('/v1/files', form);
}

export async function filesCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  const parsed = commandArgs(argv, { purpose: { type: 'string' }, json: { type: 'boolean' } }, filesUsage, usageError);
  if (typeof parsed === 'number') return parsed;
  const [action = 'ls', ...rest] = parsed.positionals;
  const client = adminClient(environment);
  try {
    switch (action) {
      case 'ls':
      case 'list': {
        const query = parsed.values.purpose ? `?purpose=${encodeURIComponent(parsed.values.purpose)}` : '';
        const list = await client.json<{ data: FileView[] }>('GET', `/v1/files${query}`);
        console.log(parsed.values.json ? JSON.stringify(list.data, null, 2) : render(list.data));
        return 0;
      }
      case 'upload': {
        if (rest.length === 0) return usageError('name the files to upload');
        const uploaded: FileView[] = [];
        for (const path of rest) uploaded.push(await uploadFile(client, path, parsed.values.purpose ?? 'assistants'));
        console.log(parsed.values.json ? JSON.stringify(uploaded, null, 2) : render(uploaded));
        return 0;
      }
      case 'show':
        if (rest.length !== 1) return usageError('name one file id');
        console.log(JSON.stringify(await client.json('GET', `/v1/files/${encodeURIComponent(rest[0]!)}`), null, 2));
        return 0;
      case 'get':
        if (rest.length !== 1) return usageError('name one file id');
        process.stdout.write(await client.text(`/v1/files/${encodeURIComponent(rest[0]!)}/content`));
        return 0;
      case 'rm':
        if (rest.length === 0) return usageError('name the file ids to delete');
        for (const id of rest) {
          await client.json('DELETE', `/v1/files/${encodeURIComponent(id)}`);
          console.log(`deleted ${id}`);
        }
        return 0;
      default:
        return usageError(`unknown action '${action}'`);
    }
  } catch (error) {
    return commandFailure(error);
  }
}

function render(files: readonly FileView[]): string {
  if (files.length === 0) return 'no files';
  return renderTable([
    ['ID', 'NAME', 'BYTES', 'PURPOSE', 'CREATED', 'EXPIRES'],
    ...files.map((file) => [file.id, file.filename, String(file.bytes), file.purpose, formatSeconds(file.created_at), formatSeconds(file.expires_at)]),
  ]);
}

function usageError(message: string): number {
  console.error(`error: ${message}\n\n${filesUsage}`);
  return 2;
}
