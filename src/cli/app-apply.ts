/**
 * `nimbus apps apply FILE`: makes the server's apps match a file, idempotently. The file (YAML or
 * JSON) holds one app config with its `name`, a list of them, or `{apps: [...]}`. An app missing
 * on the server is created; one whose live config differs (drift: someone published or rolled
 * back by hand, or the file changed) gets a new version with the file's config, and the fields
 * that differ are reported; one that matches is left alone. Apps on the server that the file does
 * not name are reported, and deleted only with `--prune`.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { CommandError, type AdminClient } from './admin-client.js';

/** An app config as a file holds it: the API's body, with its name. */
export type AppDocument = Record<string, unknown> & { name: string };

/** What apply did (or would do, with `dryRun`), per app. */
export interface ApplyReport {
  /** The file's apps in its order. */
  order: string[];
  created: string[];
  /** Apps given a new version, with the fields that had drifted. */
  published: Array<{ name: string; version: number | null; fields: string[] }>;
  unchanged: string[];
  /** On the server, not in the file: deleted with prune, else only listed. */
  extra: string[];
  pruned: string[];
}

/** The apps a file holds (YAML or JSON; one document, a list, `{apps: [...]}`, or several YAML documents). */
export function readAppFile(path: string): AppDocument[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CommandError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const documents = parseAllDocuments(text);
  const values: unknown[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) throw new CommandError(`${path} is not valid YAML or JSON: ${document.errors[0]!.message}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) values.push(...(value as unknown[]));
    else if (typeof value === 'object' && Array.isArray((value as { apps?: unknown }).apps)) values.push(...(value as { apps: unknown[] }).apps);
    else values.push(value);
  }
  const names = new Set<string>();
  return values.map((value, index) => {
    if (value === null || typeof value !== 'object' || typeof (value as { name?: unknown }).name !== 'string')
      throw new CommandError(`${path}: app ${index + 1} has no 'name'; every app in a file needs one.`);
    const name = (value as AppDocument).name;
    if (names.has(name)) throw new CommandError(`${path}: the app '${name}' is given twice.`);
    names.add(name);
    return value as AppDocument;
  });
}

/** The config of a document, as the server keeps it: no name, no null limits, keys in order. */
export function configOf(document: Record<string, unknown>): Record<string, unknown> {
  const config: Record<string, unknown> = { ...document };
  delete config.name;
  const limits = config.limits as Record<string, unknown> | undefined;
  if (limits && typeof limits === 'object') {
    const kept = Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== null));
    if (Object.keys(kept).length > 0) config.limits = kept;
    else delete config.limits;
  }
  return config;
}

/** Top-level fields whose values differ between two configs. */
export function driftedFields(wanted: Record<string, unknown>, live: Record<string, unknown>): string[] {
  const fields = new Set([...Object.keys(wanted), ...Object.keys(live)]);
  return [...fields].filter((field) => canonical(wanted[field]) !== canonical(live[field])).sort();
}

/** JSON with object keys sorted, so key order never reads as drift. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

interface LiveApp {
  name: string;
  live_version: number;
  config: Record<string, unknown>;
}

export async function applyApps(client: AdminClient, documents: readonly AppDocument[], options: { prune: boolean; dryRun: boolean }): Promise<ApplyReport> {
  const live = new Map((await client.json<{ data: LiveApp[] }>('GET', '/v1/apps')).data.map((app) => [app.name, app]));
  const report: ApplyReport = { order: documents.map((document) => document.name), created: [], published: [], unchanged: [], extra: [], pruned: [] };
  for (const document of documents) {
    const config = configOf(document);
    const found = live.get(document.name);
    if (!found) {
      if (!options.dryRun) await client.json('POST', '/v1/apps', { name: document.name, ...config });
      report.created.push(document.name);
      continue;
    }
    const fields = driftedFields(config, found.config);
    if (fields.length === 0) {
      report.unchanged.push(document.name);
      continue;
    }
    const version = options.dryRun
      ? null
      : (await client.json<{ version: number }>('POST', `/v1/apps/${encodeURIComponent(document.name)}/versions`, config)).version;
    report.published.push({ name: document.name, version, fields });
  }
  const named = new Set(documents.map((document) => document.name));
  for (const name of live.keys()) {
    if (named.has(name)) continue;
    report.extra.push(name);
    if (options.prune && !options.dryRun) await client.json('DELETE', `/v1/apps/${encodeURIComponent(name)}`);
    if (options.prune) report.pruned.push(name);
  }
  return report;
}

/** The report as lines for a person, in the file's order, then the apps it does not name. */
export function reportLines(report: ApplyReport, options: { prune: boolean; dryRun: boolean }): string[] {
  const would = options.dryRun ? 'would be ' : '';
  const lines = report.order.map((name) => {
    if (report.created.includes(name)) return `${name}: ${would}created (version 1)`;
    const published = report.published.find((entry) => entry.name === name);
    if (published)
      return `${name}: drift in ${published.fields.join(', ')}: ${would}published${published.version !== null ? ` as version ${published.version}` : ''}`;
    return `${name}: unchanged`;
  });
  for (const name of report.extra)
    lines.push(options.prune ? `${name}: not in the file: ${would}deleted` : `${name}: not in the file: kept (--prune deletes it)`);
  return lines;
}
