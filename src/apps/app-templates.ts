/**
 * App templates (issue 23) as read from disk, shared by the CLI (`nimbus apps create --template`)
 * and the server (`GET /v1/app_templates`, which the console creates apps from).
 * `templates/NAME/app.yaml` is an app's configuration as `POST /v1/apps` takes it, plus
 * `knowledge`, a folder beside it whose files become the app's vector store. `app.VARIANT.yaml`
 * beside it is a variant: its fields over the main ones, as an app of its own named `APP-VARIANT`
 * on the same store (the tutor's quiz mode: an app's output format is the app's, never the
 * request's, so each format is an app).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** Where the templates are: `templates/` at the package's root, from src/apps or dist/apps alike. */
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

/** Reads one template; undefined for a name that is not one (callers say which there are, in their own words). */
export function readTemplate(name: string, root = templatesRoot): AppTemplate | undefined {
  if (!templateNames(root).includes(name)) return undefined;
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
