/**
 * The cache settings the CLI commands share, so `nimbus pull` fills the cache that `nimbus serve`
 * and `nimbus models` read: the same defaults as the server's config (src/core/config.ts).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ModelCacheOptions } from './model-cache.js';

/** Where models are cached when neither --home nor NIMBUS_HOME says. */
export const defaultHome = join(homedir(), '.cache', 'nimbus');
/** The Hugging Face endpoint when NIMBUS_HF_ENDPOINT is unset. */
export const defaultEndpoint = 'https://huggingface.co';

/** Home from the flag, else NIMBUS_HOME, else the default; endpoint from NIMBUS_HF_ENDPOINT; token from HF_TOKEN. */
export function cacheOptionsFromEnvironment(environment: NodeJS.ProcessEnv, homeFlag?: string): ModelCacheOptions {
  return {
    home: homeFlag || environment.NIMBUS_HOME || defaultHome,
    endpoint: environment.NIMBUS_HF_ENDPOINT || defaultEndpoint,
    token: environment.HF_TOKEN || undefined,
  };
}
