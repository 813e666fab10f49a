/**
 * Creating an app from a template (issue 23): the templates themselves are read by
 * apps/app-templates.ts, which the server's `GET /v1/app_templates` shares.
 * `createFromTemplate` uploads the knowledge folder into a new store, waits until every file is
 * indexed, and creates the app with the store, so an app never starts with half its knowledge.
 */
import { readTemplate, templateNames, type AppTemplate } from '../apps/app-templates.js';
import { CommandError, type AdminClient } from './admin-client.js';
import { uploadFile } from './files.js';

export { templateNames, type AppTemplate } from '../apps/app-templates.js';

/** Reads one template; a name that is not one says which there are. */
export function loadTemplate(name: string, root?: string): AppTemplate {
  const template = readTemplate(name, root);
  if (!template) throw new CommandError(`no template '${name}'; there are ${templateNames(root).join(', ')}`);
  return template;
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
