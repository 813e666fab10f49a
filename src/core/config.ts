/**
 * Configuration: one schema, four sources. A value comes from a flag, else the environment,
 * else the config file, else the default; every value is checked, and a bad one is refused
 * with the source it came from and how to fix it.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/** One model to serve: a GGUF path or a Hugging Face reference (`hf:owner/repo/file.gguf`). */
export const modelConfigSchema = z.strictObject({
  /** The name clients use; defaults to the file name without `.gguf`. */
  id: z
    .string()
    .regex(/^[\w.:/-]{1,128}$/, 'use letters, digits and . _ : / - (at most 128)')
    .optional(),
  source: z.string().min(1),
  /** Tokens of context per slot. */
  contextSize: z.number().int().min(64).max(1_048_576).optional(),
  /** Requests generated at once (sequences of one context, batched together). */
  slots: z.number().int().min(1).max(256).optional(),
  threads: z.number().int().min(0).max(1024).optional(),
  /** Layers on the GPU: `auto` fits what memory allows, `max` all, 0 none. */
  gpuLayers: z.union([z.literal('auto'), z.literal('max'), z.number().int().min(0)]).optional(),
  /** Expected sha256 of the file, checked after download. */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

export const configSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** Model cache and database live here. */
  home: z
    .string()
    .min(1)
    .default(join(homedir(), '.cache', 'nimbus')),
  models: z.array(modelConfigSchema).default([]),
  /** Pulled and served when no model is configured. */
  defaultModel: z.string().default('hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf'),
  /** Hugging Face endpoint (a mirror, or a test server). */
  hfEndpoint: z.string().url().default('https://huggingface.co'),
  /** `auto` picks CUDA, Vulkan or Metal where present, else CPU; `cpu` forces the CPU. */
  gpu: z.enum(['auto', 'cpu', 'cuda', 'vulkan', 'metal']).default('auto'),
  /** Defaults for models that do not set their own. */
  contextSize: z.number().int().min(64).max(1_048_576).default(4096),
  slots: z.number().int().min(1).max(256).default(4),
  threads: z.number().int().min(0).max(1024).default(0),
  /** Requests that may wait for a slot, per model; past it, 429. */
  maxQueue: z.number().int().min(0).max(100_000).default(64),
  /** Largest request body accepted, in bytes; past it, 413. */
  bodyLimit: z
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  /** On SIGTERM, how long running requests may finish before they are cut. */
  shutdownGraceMs: z.number().int().min(0).default(30_000),
  /** `sqlite:PATH` (default: `<home>/nimbus.db`) or `postgres://...`. */
  databaseUrl: z.string().optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type NimbusConfig = z.infer<typeof configSchema>;
/** Config as a user writes it: every field optional. */
export type NimbusConfigInput = z.input<typeof configSchema>;

/** How to fix a bad value, per key. */
const hints: Partial<Record<keyof NimbusConfig, string>> = {
  port: 'use a port number from 1 to 65535 (0 picks a free one), e.g. 8080',
  host: 'use an address to bind, e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)',
  models: 'each model is {"source": "PATH.gguf or hf:owner/repo/file.gguf"} with optional id, contextSize, slots, threads, gpuLayers',
  gpu: 'use one of auto, cpu, cuda, vulkan, metal',
  threads: 'use 0 (all cores) or a thread count',
  logLevel: 'use one of fatal, error, warn, info, debug, trace, silent',
  hfEndpoint: 'use a URL such as https://huggingface.co',
};

/** Environment variables and the keys they set. */
export const environmentKeys: Record<string, keyof NimbusConfig> = {
  NIMBUS_HOST: 'host',
  NIMBUS_PORT: 'port',
  NIMBUS_HOME: 'home',
  NIMBUS_MODELS: 'models',
  NIMBUS_DEFAULT_MODEL: 'defaultModel',
  NIMBUS_HF_ENDPOINT: 'hfEndpoint',
  NIMBUS_GPU: 'gpu',
  NIMBUS_CTX: 'contextSize',
  NIMBUS_SLOTS: 'slots',
  NIMBUS_THREADS: 'threads',
  NIMBUS_MAX_QUEUE: 'maxQueue',
  NIMBUS_BODY_LIMIT: 'bodyLimit',
  NIMBUS_SHUTDOWN_GRACE_MS: 'shutdownGraceMs',
  NIMBUS_DATABASE_URL: 'databaseUrl',
  NIMBUS_LOG_LEVEL: 'logLevel',
};

/** A configuration problem, with the source of the bad value and a fix. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const numericKeys = new Set<string>(['port', 'contextSize', 'slots', 'threads', 'maxQueue', 'bodyLimit', 'shutdownGraceMs']);

/** Converts a string from the environment or a flag into the key's type. */
export function coerceValue(key: keyof NimbusConfig, value: string): unknown {
  if (numericKeys.has(key)) return value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  if (key === 'models') {
    return value
      .split(',')
      .map((source) => source.trim())
      .filter(Boolean)
      .map((source) => ({ source }));
  }
  return value;
}

/** A layer of raw values and where they came from (`--port`, `NIMBUS_PORT`, `nimbus.json`). */
export interface ConfigLayer {
  source: string;
  values: Record<string, unknown>;
}

/** Merges layers (later wins) and validates; throws ConfigError naming the source and the fix. */
export function resolveConfig(layers: ConfigLayer[]): NimbusConfig {
  const merged: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values)) {
      if (value === undefined) continue;
      merged[key] = value;
      origin[key] = layer.source;
    }
  }
  const result = configSchema.safeParse(merged);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const where = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(configSchema.shape).join(', ');
      return `unknown key ${issue.keys.map((name) => `'${name}'`).join(', ')}${where ? ` in '${where}'` : ''} (from ${origin[key] ?? 'config'}); known keys: ${known}`;
    }
    const hint = hints[key as keyof NimbusConfig];
    return `'${where}' (from ${origin[key] ?? 'config'}): ${issue.message}${hint ? `; ${hint}` : ''}`;
  });
  throw new ConfigError(`Invalid configuration:\n  - ${lines.join('\n  - ')}`);
}
