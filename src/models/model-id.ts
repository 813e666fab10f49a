/** The name clients use for a configured model. */
import { basename } from 'node:path';
import type { ModelConfig } from '../core/config.js';
import { parseModelRef } from './model-ref.js';

/** The name clients use for a model: its configured id, else the file name without `.gguf`. */
export function modelId(model: Pick<ModelConfig, 'id' | 'source'>): string {
  if (model.id) return model.id;
  const ref = parseModelRef(model.source);
  const file = ref.kind === 'hf' ? ref.file : ref.path;
  return basename(file).replace(/\.gguf$/i, '');
}

/** The model id, or its source where the source is not a model reference (it then names no cached file). */
export function modelIdOrSource(model: Pick<ModelConfig, 'id' | 'source'>): string {
  try {
    return modelId(model);
  } catch {
    return model.source;
  }
}
