/**
 * The real tiny model the tests run (../shared/models/stories260K.gguf). Where it is absent the
 * tests that need it say so and skip, except under CI=true, where its absence is a failure.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Path of stories260K.gguf, or undefined when this machine has no ../shared.
 * NIMBUS_TEST_MODEL=none hides it, to run the suite as a fresh clone without ../shared would.
 */
export const storiesPath: string | undefined = (() => {
  if (process.env.NIMBUS_TEST_MODEL === 'none') return undefined;
  const candidates = [process.env.NIMBUS_TEST_MODEL, resolve(repoRoot, '..', 'shared', 'models', 'stories260K.gguf')];
  return candidates.find((path): path is string => Boolean(path) && existsSync(path!));
})();

/** The known-answer continuation of "Once upon a time" at temperature 0 (../shared/models/README.md). */
export const knownAnswer = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';

/** True when tests needing the shared model must be skipped; throws under CI=true. */
export function skipWithoutSharedModel(): boolean {
  if (storiesPath) return false;
  const message = 'stories260K.gguf not found at ../shared/models (or NIMBUS_TEST_MODEL): tests that run the real model are skipped.';
  if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure.`);
  console.warn(message);
  return true;
}
