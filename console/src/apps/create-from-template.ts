/**
 * Creates an app from a template through the public API, as `nimbus apps create --template` does
 * (src/cli/app-templates.ts: the same steps, the same names): the template's knowledge files
 * (their text from `GET /v1/app_templates/NAME`) uploaded into a new vector store `APP-knowledge`
 * and indexed, a file that fails stopping it with the file's name, then the app and its variants
 * (`APP-VARIANT`) on that store, so an app never starts with half its knowledge.
 */
import { api } from '../api/client.js';
import type { AppTemplateView, AppView, UploadedFile } from '../api/types.js';
import { uploadFile } from '../api/upload.js';

interface FileBatch {
  id: string;
  status: string;
  file_counts: { completed: number; failed: number; total: number };
}

/** How often the indexing is read while it runs. */
const indexPollMs = 250;

export interface TemplateChoice {
  template: string;
  /** The app's name (the template's own when empty). */
  name: string;
  /** A model that replaces the template's (a template names a model this server may not serve). */
  model: string;
}

/** Creates the apps; `progress` hears each step in words. Resolves to the apps made, the main one first. */
export async function createFromTemplate(choice: TemplateChoice, progress: (line: string) => void): Promise<AppView[]> {
  const template = await api<AppTemplateView>('GET', `/v1/app_templates/${encodeURIComponent(choice.template)}`);
  const name = choice.name || String(template.config.name ?? template.name);
  let storeId: string | null = null;
  if (template.knowledge.length > 0) {
    const store = await api<{ id: string }>('POST', '/v1/vector_stores', { name: `${name}-knowledge` });
    storeId = store.id;
    const fileIds: string[] = [];
    for (const file of template.knowledge) {
      progress(`Uploading ${file.filename} (${fileIds.length + 1} of ${template.knowledge.length})…`);
      const uploaded: UploadedFile = await uploadFile(new File([file.text ?? ''], file.filename, { type: 'text/markdown' }));
      fileIds.push(uploaded.id);
    }
    progress(`Indexing ${fileIds.length} files in vector store ${store.id}…`);
    let batch = await api<FileBatch>('POST', `/v1/vector_stores/${store.id}/file_batches`, { file_ids: fileIds });
    while (batch.status === 'in_progress') {
      await new Promise((resolve) => setTimeout(resolve, indexPollMs));
      batch = await api<FileBatch>('GET', `/v1/vector_stores/${store.id}/file_batches/${batch.id}`);
    }
    if (batch.file_counts.failed > 0)
      throw new Error(`${batch.file_counts.failed} of the template's knowledge files failed to index in vector store ${store.id}.`);
  }
  const apps: AppView[] = [];
  for (const { suffix, config } of [{ suffix: '', config: {} }, ...template.variants]) {
    const appName = suffix ? `${name}-${suffix}` : name;
    progress(`Creating app ${appName}…`);
    apps.push(
      await api<AppView>('POST', '/v1/apps', {
        ...template.config,
        ...config,
        name: appName,
        ...(choice.model ? { model: choice.model } : {}),
        ...(storeId ? { vector_store_ids: [storeId] } : {}),
      }),
    );
  }
  progress(`Created ${apps.map((app) => app.name).join(', ')}.`);
  return apps;
}
