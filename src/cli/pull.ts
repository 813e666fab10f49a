/** `nimbus pull REF`: download a model into the cache, with a progress bar; re-running resumes. */
import { commandArgs } from './command-args.js';
import { cacheOptionsFromEnvironment } from '../models/cache-options-from-environment.js';
import { ModelCache } from '../models/model-cache.js';
import { formatModelRef, parseModelRef } from '../models/model-ref.js';
import { ProgressBar } from '../models/progress-bar.js';

export const pullUsage = `Usage: nimbus pull REF... [options]

Downloads models into the cache and prints each file's path. An interrupted download resumes
when the command runs again.

REF is hf:OWNER/REPO/FILE.gguf or hf:OWNER/REPO@REVISION/FILE.gguf (default revision: main).

Options:
      --home DIR   model cache and database (NIMBUS_HOME, default ~/.cache/nimbus)
  -h, --help       show this help

Environment: NIMBUS_HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (gated or private repositories).`;

/** Runs `nimbus pull`; returns the exit code (0 done, 1 failed, 2 bad usage, 130 interrupted). */
export async function pullCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  const parsed = commandArgs(argv, { home: { type: 'string' } }, pullUsage, usageError);
  if (typeof parsed === 'number') return parsed;
  if (parsed.positionals.length === 0) return usageError('missing REF, the model to download (e.g. hf:OWNER/REPO/FILE.gguf)');
  const cache = new ModelCache(cacheOptionsFromEnvironment(environment, parsed.values.home));
  const controller = new AbortController();
  const interrupt = (): void => controller.abort();
  process.once('SIGINT', interrupt);
  let current = parsed.positionals[0] ?? '';
  try {
    for (const text of parsed.positionals) {
      current = text;
      const ref = parseModelRef(text);
      current = formatModelRef(ref);
      if (ref.kind === 'file') {
        console.error(`${current} is a local file: nothing to download.`);
        console.log(await cache.ensure(ref));
        continue;
      }
      if (await cache.has(ref)) {
        console.error(`${current} is already cached.`);
        console.log(cache.localPath(ref));
        continue;
      }
      console.error(`Downloading ${current}`);
      const bar = new ProgressBar();
      try {
        const path = await cache.ensure(ref, { onProgress: (progress) => bar.update(progress), signal: controller.signal });
        bar.finish();
        console.log(path);
      } finally {
        bar.stop();
      }
    }
    return 0;
  } catch (error) {
    if (controller.signal.aborted) {
      console.error(`error: interrupted; the partial download is kept, and 'nimbus pull ${current}' resumes it.`);
      return 130;
    }
    console.error(`error: ${oneLine((error as Error).message)}`);
    return 1;
  } finally {
    process.off('SIGINT', interrupt);
  }
}

function usageError(message: string): number {
  console.error(`error: ${message}. Usage: nimbus pull REF [--home DIR]; 'nimbus pull --help' says more.`);
  return 2;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
