/**
 * App templates (issue 23): `templates/NAME/app.yaml` is an app's configuration as `POST /v1/apps`
 * takes it, plus `knowledge`, a folder beside it whose files become the app's vector store.
 * `app.VARIANT.yaml` beside it is a variant: its fields over the main ones, as an app of its own
 * named `APP-VARIANT` on the same store (the tutor's quiz mode: an app's output format is the
 * app's, never the request's, so each format is an app).
 * `createFromTemplate` uploads that folder into a new store, waits until every file is indexed,
 * and creates the app with the store, so an app never starts with half its knowledge.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CommandError, type AdminClient } from './admin-client.js';
import { uploadFile } from './files.js';

/** Where the templates are: `templates/` at the package's root, from src/cli or dist/cli alike. */
export const templatesRoot = fileURLToPath(new URL('../../templates/', import.meta.url));

/** A template read from disk: the app's configuration and the knowledge files to upload. */
export interface AppTemplate {
  name: string;
  /** The app configuration (`POST /v1/apps` without `vector_store_ids`). */
  config: Record<string, unknown>;
  /** Absolute paths of the knowledge files, sorted; empty when it has none. */
  knowledge: string[];
  /** Variants: a suffix for the app's name and the fields that differ. */
  variants: Array<{ suffix: string; config: Record<string, unknown> }>;
}

/** The templates there are (folders with an app.yaml). */
export function templateNames(root = templatesRoot): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && readdirSync(join(root, entry.name)).includes('app.yaml'))
    .map((entry) => entry.name)
    .sort();
}

/** Reads one template; a name that is not one says which there are. */
export function loadTemplate(name: string, root = templatesRoot): AppTemplate {
  const names = templateNames(root);
  if (!names.includes(name)) throw new CommandError(`no template '${name}'; there are ${names.join(', ')}`);
  const folder = join(root, name);
  const document = parse(readFileSync(join(folder, 'app.yaml'), 'utf8')) as Record<string, unknown>;
  const { knowledge, ...config } = document;
  const files =
    typeof knowledge === 'string'
      ? readdirSync(join(folder, knowledge))
          .filter((file) => !file.startsWith('.'))
          .sort()
          .map((file) => join(folder, knowledge, file))
      : [];
  const variants = readdirSync(folder)
    .map((file) => /^app\.([a-z0-9-]+)\.yaml$/.exec(file)?.[1])
    .filter((suffix): suffix is string => suffix !== undefined)
    .sort()
    .map((suffix) => ({ suffix, config: parse(readFileSync(join(folder, `app.${suffix}.yaml`), 'utf8')) as Record<string, unknown> }));
  return { name, config, knowledge: files, variants };
}

interface BatchView {
  id: string;
  status: string;
  file_counts: { completed: number; failed: number; total: number };
}

/** What `createFromTemplate` made. */
export interface CreatedFromTemplate {
  /** The apps as `POST /v1/apps` answered: the main one first, then its variants. */
  apps: Array<Record<string, unknown>>;
  vectorStoreId: string | null;
}

/**
 * Creates an app from a template: its knowledge uploaded into a new vector store named
 * `APP-knowledge` and indexed (a file that fails stops it, naming the file), then the app.
 */
export async function createFromTemplate(
  client: AdminClient,
  template: AppTemplate,
  overrides: { name?: string | undefined; model?: string | undefined } = {},
  progress: (line: string) => void = () => {},
): Promise<CreatedFromTemplate> {
  const name = overrides.name ?? (template.config.name as string);
  let vectorStoreId: string | null = null;
  if (template.knowledge.length > 0) {
    const store = await client.json<{ id: string }>('POST', '/v1/vector_stores', { name: `${name}-knowledge` });
    vectorStoreId = store.id;
    const fileIds: string[] = [];
    for (const path of template.knowledge) fileIds.push((await uploadFile(client, path, 'assistants')).id);
    progress(`uploaded ${fileIds.length} knowledge files into vector store ${store.id}`);
    let batch = await client.json<BatchView>('POST', `/v1/vector_stores/${store.id}/file_batches`, { file_ids: fileIds });
    while (batch.status === 'in_progress') {
      await new Promise((resolve) => setTimeout(resolve, 200));
      batch = await client.json<BatchView>('GET', `/v1/vector_stores/${store.id}/file_batches/${batch.id}`);
    }
    if (batch.file_counts.failed > 0) {
      throw new CommandError(`${batch.file_counts.failed} of the template's knowledge files failed to index in vector store ${store.id}`);
    }
    progress(`indexed ${batch.file_counts.completed} files`);
  }
  const apps: Array<Record<string, unknown>> = [];
  for (const { suffix, config } of [{ suffix: '', config: {} }, ...template.variants]) {
    apps.push(
      await client.json<Record<string, unknown>>('POST', '/v1/apps', {
        ...template.config,
        ...config,
        name: suffix ? `${name}-${suffix}` : name,
        ...(overrides.model ? { model: overrides.model } : {}),
        ...(vectorStoreId ? { vector_store_ids: [vectorStoreId] } : {}),
      }),
    );
  }
  return { apps, vectorStoreId };
}
