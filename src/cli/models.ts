/** `nimbus models`: list the model cache, or remove models from it. */
import { commandArgs } from './command-args.js';
import { cacheOptionsFromEnvironment } from '../models/cache-options-from-environment.js';
import { formatBytes } from '../models/format-bytes.js';
import { ModelCache, type CachedModel } from '../models/model-cache.js';
import { formatModelRef, parseModelRef } from '../models/model-ref.js';

export const modelsUsage = `Usage: nimbus models [ls] [options]
       nimbus models rm REF... [options]

  ls       list cached models (the default): REF, SIZE, MODIFIED
  rm REF   delete a cached model, and any partial download of it

Options:
      --home DIR   model cache and database (NIMBUS_HOME, default ~/.cache/nimbus)
  -h, --help       show this help`;

/** Runs `nimbus models`; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function modelsCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  const parsed = commandArgs(argv, { home: { type: 'string' } }, modelsUsage, usageError);
  if (typeof parsed === 'number') return parsed;
  const [action = 'ls', ...refs] = parsed.positionals;
  const cache = new ModelCache(cacheOptionsFromEnvironment(environment, parsed.values.home));
  try {
    switch (action) {
      case 'ls':
      case 'list':
        if (refs.length > 0) return usageError(`'models ls' takes no arguments, got '${refs.join(' ')}'`);
        console.log(renderList(await cache.list(), cache.folder));
        return 0;
      case 'rm':
      case 'remove':
        if (refs.length === 0) return usageError("missing REF, the model to remove ('nimbus models' lists them)");
        return await removeAll(cache, refs);
      default:
        return usageError(`unknown action '${action}'; use ls or rm`);
    }
  } catch (error) {
    console.error(`error: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}`);
    return 1;
  }
}

async function removeAll(cache: ModelCache, refs: string[]): Promise<number> {
  let code = 0;
  for (const text of refs) {
    const name = formatModelRef(parseModelRef(text));
    if (await cache.remove(text)) {
      console.log(`removed ${name}`);
    } else {
      console.error(`error: ${name} is not in the cache (${cache.folder}); 'nimbus models' lists what is.`);
      code = 1;
    }
  }
  return code;
}

/** The table, or a hint on how to fill an empty cache. */
function renderList(models: CachedModel[], folder: string): string {
  if (models.length === 0) return `No models cached in ${folder}. Download one with: nimbus pull hf:OWNER/REPO/FILE.gguf`;
  const rows = [['REF', 'SIZE', 'MODIFIED']];
  for (const model of models) {
    rows.push([model.ref, model.incomplete ? `${formatBytes(model.size)} (partial)` : formatBytes(model.size), formatTime(model.modifiedAt)]);
  }
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
  const lines = rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  '));
  if (models.some((model) => model.incomplete)) {
    lines.push('', "(partial): an interrupted download; 'nimbus pull REF' resumes it, 'nimbus models rm REF' deletes it.");
  }
  return lines.join('\n');
}

/** Local time as `YYYY-MM-DD HH:MM`. */
function formatTime(date: Date): string {
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function usageError(message: string): number {
  console.error(`error: ${message}. Usage: nimbus models [ls] | nimbus models rm REF; 'nimbus models --help' says more.`);
  return 2;
}
