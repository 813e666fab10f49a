/**
 * Configuration: one schema, four sources. A value comes from a flag, else the environment,
 * else the config file, else the default; every value is checked, and a bad one is refused
 * with the source it came from and how to fix it.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { routingPolicies } from './replica-router.js';
import { mcpConfigSchema } from './mcp-config.js';
import { defaultSpareSlots } from './pool-control.js';

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
  /** Sequences beyond `slots` for interactive requests while batch lines hold slots; defaults to the server's `spareSlots`. */
  spareSlots: z.number().int().min(0).max(256).optional(),
  threads: z.number().int().min(0).max(1024).optional(),
  /** MiB of evicted slot states kept in RAM for prefix reuse (0: off); defaults to the server's `promptCacheMiB`. */
  promptCacheMiB: z.number().int().min(0).max(1_048_576).optional(),
  /** Layers on the GPU: `auto` fits what memory allows, `max` all, 0 none. */
  gpuLayers: z.union([z.literal('auto'), z.literal('max'), z.number().int().min(0)]).optional(),
  /** Expected sha256 of the file, checked after download. */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /**
   * The output cap a request without max_tokens reserves under a token or cost limit, and is held
   * to (`finish_reason: "length"`); the context length when absent.
   */
  defaultMaxTokens: z.number().int().min(1).max(10_000_000).optional(),
});

const namePattern = /^[\w.:/-]{1,128}$/;
const nameMessage = 'use letters, digits and . _ : / - (at most 128)';
const modelName = z.string().regex(namePattern, nameMessage);
const milliseconds = z.number().int().min(1).max(86_400_000);

/** An OpenAI-compatible server Nimbus forwards to (vLLM, SGLang, llama-server, Ollama, a cloud). */
export const providerConfigSchema = z.strictObject({
  /** The name logs, headers and /v1/models show for it. */
  id: z.string().regex(namePattern, nameMessage),
  /** Where its OpenAI API lives, usually ending in `/v1`: `http://10.0.0.5:8000/v1`, `https://api.openai.com/v1`. */
  baseUrl: z.url({ protocol: /^https?$/ }),
  /** The environment variable holding its API key (sent as a Bearer token); the key itself never goes in config. */
  apiKeyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'use an environment variable name, e.g. OPENAI_API_KEY')
    .optional(),
  /** Extra request headers, such as an organization id. */
  headers: z.record(z.string(), z.string()).default({}),
  /**
   * It keeps a prefix cache (a self-hosted vLLM, SGLang or llama-server): its models that set no
   * `routing` route by `estimated-ttft` when every provider serving them says so, round-robin otherwise.
   */
  cachesPrefixes: z.boolean().optional(),
  /** Time to open a connection. */
  connectTimeoutMs: milliseconds.default(5_000),
  /** Streams: time from sending the request to the first token. */
  firstTokenTimeoutMs: milliseconds.default(60_000),
  /** Streams: longest gap between two events once tokens flow. */
  idleTimeoutMs: milliseconds.default(30_000),
  /** Whole answers (not streamed) and embeddings: time to the complete response. */
  requestTimeoutMs: milliseconds.default(600_000),
  /** Connections kept open to it (each carries one request at a time). */
  maxConnections: z.number().int().min(1).max(10_000).default(256),
  /**
   * Request fields Nimbus does not know that reach this provider as the client sent them
   * (vLLM's `chat_template_kwargs`, `repetition_penalty`): their names, or `["*"]` for every
   * one. None by default: a cloud may bill for options a tenant could otherwise set on the
   * operator's account (`service_tier`, `store`, web search), beyond what the ledger prices.
   */
  forwardFields: z.array(z.string().min(1)).default([]),
  /**
   * The field a chat request's output cap goes in: `max_tokens` (vLLM, SGLang, llama-server,
   * Ollama) or `max_completion_tokens` (OpenAI, whose reasoning models refuse `max_tokens`). A
   * client's cap in the other field is moved to this one; so is the cap admission reserves.
   */
  maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).default('max_tokens'),
});

/** A model served by a provider; several entries with one id are replicas of that model. */
export const upstreamModelConfigSchema = z.strictObject({
  /** The name clients use. */
  id: modelName,
  /** The provider's id. */
  provider: z.string().min(1),
  /** The provider's name for it; defaults to `id`. */
  upstreamModel: z.string().min(1).optional(),
  /**
   * How requests are spread over this name's replicas (every entry of one name must agree).
   * Unset: `estimated-ttft` where every provider serving the name sets `cachesPrefixes`, else
   * round-robin (a cloud API, where cache-aware placement buys nothing).
   */
  routing: z.enum(routingPolicies).optional(),
  /**
   * The output cap a request without max_tokens reserves under a token or cost limit, and is sent
   * with (the answer then ends with `finish_reason: "length"`); `tenancy.defaultMaxTokens` when absent.
   */
  defaultMaxTokens: z.number().int().min(1).max(10_000_000).optional(),
});

/** Routing settings shared by every policy. */
export const routingConfigSchema = z.strictObject({
  /** Characters per prefix block hashed by prefix-cache routing (about 4 per token); smaller for small contexts. */
  prefixBlockChars: z.number().int().min(16).max(1_000_000).default(2048),
  /**
   * Pool workers' heartbeat reports of the prefixes their caches hold correct estimated-ttft's shadow
   * index (issue 24). Off by default: in the simulator they did not beat the router's own index on
   * average (decision 0012).
   */
  workerCacheReports: z.boolean().default(false),
});

/** Retries before the first byte of an answer, on another replica where there is one. */
export const retryConfigSchema = z.strictObject({
  /** Tries in all per model, the first included. */
  maxAttempts: z.number().int().min(1).max(10).default(3),
  /** Backoff before try n is random in [0, min(backoffMaxMs, backoffBaseMs * 2^(n-2))]. */
  backoffBaseMs: z.number().int().min(0).max(60_000).default(50),
  backoffMaxMs: z.number().int().min(0).max(60_000).default(2_000),
  /** The longest Retry-After worth waiting for; past it, the 429 goes to the client. */
  maxRetryAfterMs: z.number().int().min(0).max(600_000).default(5_000),
});

/** What a model costs, in US dollars per million tokens. */
export const modelPriceConfigSchema = z.strictObject({
  input: z.number().min(0).max(1e6),
  output: z.number().min(0).max(1e6),
  /** Prompt tokens served from the prefix cache; `input` when absent. */
  cachedInput: z.number().min(0).max(1e6).optional(),
});

/** How admission reserves and how long it trusts what it looked up. */
export const tenancyConfigSchema = z.strictObject({
  /**
   * Reserved, and sent as the cap, for a request without max_tokens under a token or cost limit,
   * where neither its model's `defaultMaxTokens` nor its engine's context length says otherwise.
   */
  defaultMaxTokens: z.number().int().min(1).max(10_000_000).default(4096),
  /** Compute time assumed per token when quoting compute-priced requests against a cost budget. */
  reserveSecondsPerToken: z.number().min(0).max(3600).default(0.05),
  /** How long a key lookup is reused: also the longest a key revoked in another process keeps working here. */
  authCacheMs: z.number().int().min(0).max(60_000).default(500),
  /** How long a concurrency lease lives if its request never settles (a crashed process). */
  concurrencyLeaseMs: milliseconds.default(3_600_000),
});

/** Devices: safety knobs and timing (docs/decisions/0005-device-safety.md). */
export const devicesConfigSchema = z.strictObject({
  /** The first level of every device topic: `<topicRoot>/<tenant>/devices/<device>/...`. */
  topicRoot: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'use letters, digits, - and _ (at most 64)')
    .default('nimbus'),
  /** Time a device has to answer a command. */
  commandTimeoutMs: milliseconds.default(10_000),
  /** Time a granted approval may be used (critical commands: half). */
  approvalTtlMs: milliseconds.default(120_000),
  /** Time an approval request waits for a human. */
  approvalRequestTtlMs: milliseconds.default(900_000),
  /** Distinct devices one request may actuate. */
  maxDevicesPerRequest: z.number().int().min(1).max(1000).default(3),
  /** Commands per device per minute, and how many may come at once. */
  rateLimitPerMinute: z.number().int().min(1).max(100_000).default(30),
  rateLimitBurst: z.number().int().min(1).max(10_000).default(10),
  /** Model turns that may call tools in one chat completion. */
  maxToolSteps: z.number().int().min(1).max(16).default(4),
  /** How long untrusted device text keeps a conversation and its key needing approval for every actuation. */
  taintWindowMs: milliseconds.default(900_000),
  /** Actuations one key may make in any 60 s, however they arrive (chat, MCP, REST). */
  actuationsPerKeyPerMinute: z.number().int().min(1).max(100_000).default(10),
  /** Approval requests one key may make in any 60 s. */
  approvalRequestsPerKeyPerMinute: z.number().int().min(1).max(100_000).default(10),
});

/** The device audit log: how refusals are counted (docs/decisions/0005-device-safety.md). */
export const auditConfigSchema = z.strictObject({
  /** Refusals per key written one by one per window; past it they are counted in one entry per window. */
  refusalsPerWindow: z.number().int().min(1).max(100_000).default(20),
  refusalWindowMs: milliseconds.default(60_000),
  /** The Ed25519 key that signs checkpoints (made on first start); keep it off the database's machine if you can. Default `<home>/audit-signing.key`. */
  signingKeyFile: z.string().min(1).optional(),
  /** Where checkpoints are appended, one JSON line each. Default `<home>/audit-checkpoints.jsonl`. */
  checkpointFile: z.string().min(1).optional(),
  /** How often a chain that grew gets a new checkpoint (also at start and at shutdown). */
  checkpointIntervalMs: milliseconds.default(300_000),
});

/** Files and vector stores (`/v1/files`, `/v1/vector_stores`). */
export const knowledgeConfigSchema = z.strictObject({
  /** Largest file an upload may carry, in bytes (413 past it; OpenAI's limit is 512 MB). */
  maxFileBytes: z
    .number()
    .int()
    .min(1)
    .default(512 * 1024 * 1024),
  /** Bytes all of one tenant's files may take (413 past it). */
  tenantStorageBytes: z
    .number()
    .int()
    .min(1)
    .default(10 * 1024 * 1024 * 1024),
  /**
   * A model Nimbus serves (any, local or upstream) whose embeddings index chunks and queries: search
   * is then hybrid (BM25 and vectors fused). Unset: BM25 only.
   */
  embeddingModel: z.string().min(1).optional(),
});

/** Stored responses (`/v1/responses` with `store`, the default). */
export const responsesConfigSchema = z.strictObject({
  /** Days a stored response is kept (OpenAI keeps them 30); then it is gone, and conversations continuing from it get a 400. */
  retentionDays: z.number().min(0.001).max(3650).default(30),
  /** Bytes all of one tenant's stored responses may take (413 `storage_quota_exceeded` for a new one past it). */
  tenantStorageBytes: z
    .number()
    .int()
    .min(1)
    .default(1024 * 1024 * 1024),
  /** Model turns one response may take calling server-side tools before it is asked for a final answer. */
  maxToolTurns: z.number().int().min(1).max(32).default(8),
});

/** The Batch API (`/v1/batches`): what one batch may hold and how much runs at once (issue 29; decision 0017). */
export const batchesConfigSchema = z.strictObject({
  /** Requests one batch's input file may hold (OpenAI's limit). */
  maxRequests: z.number().int().min(1).max(1_000_000).default(50_000),
  /** Bytes one batch's input file may take (OpenAI's limit: 200 MB). */
  maxFileBytes: z
    .number()
    .int()
    .min(1)
    .default(200 * 1024 * 1024),
  /**
   * Tokens (prompt upper bounds plus output caps) one key's batches may hold enqueued, not yet
   * ended: batches stay out of RPM, TPM and concurrency, and this is their limit instead.
   */
  enqueuedTokensPerKey: z.number().int().min(1).default(100_000_000),
  /**
   * Batch lines this process runs at once, over every batch. Lines are batch-class requests: they
   * wait behind interactive ones for slots and yield them (decision 0017); this caps how many
   * sit in the engines' queues and how many tokens one process works on for batches.
   */
  linesInFlight: z.number().int().min(1).max(1024).default(8),
  /**
   * How long `completion_window: "24h"` lasts, in seconds: 86,400. Only tests and demos shorten
   * it (a batch that expires in seconds); lines unfinished when it passes are `batch_expired`.
   */
  completionWindowSeconds: z.number().int().min(1).max(86_400).default(86_400),
});

/** A circuit breaker per replica: open after consecutive failures, one probe after `openMs`. */
export const breakerConfigSchema = z.strictObject({
  failureThreshold: z.number().int().min(1).max(1000).default(5),
  openMs: milliseconds.default(10_000),
});

export const configSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /**
     * Names this server answers to in local mode besides the loopback names with its port
     * (`localhost:8080`, `127.0.0.1:8080`, `[::1]:8080`): a name and port a browser reaches it by
     * (`nimbus.internal:8080`, an SSH tunnel's `localhost:9000`). Other Host headers get a 403, so
     * a web page that rebinds its own name to 127.0.0.1 cannot use a keyless server.
     */
    allowedHosts: z.array(z.string().min(1).max(255)).default([]),
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
    /**
     * Sequences per model beyond `slots`, taken only by interactive requests that come while batch
     * lines hold slots, so none has to yield (decision 0017). Each costs one slot's KV cache
     * (`contextSize` tokens) whether batches run or not; no tokens/s (measured). 0: interactive
     * requests make a batch line yield, its state saved to the prompt cache.
     */
    spareSlots: z.number().int().min(0).max(256).default(defaultSpareSlots),
    threads: z.number().int().min(0).max(1024).default(0),
    /** MiB per model of evicted slot states kept in RAM, so a prefix asked for again is not evaluated again (0: off). */
    promptCacheMiB: z.number().int().min(0).max(1_048_576).default(512),
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
    /**
     * Days a raw ledger row is kept; older rows are deleted every hour, their hourly sums stay (so
     * `/v1/usage` still answers for those days, by whole hours). 0 keeps every row.
     */
    ledgerRetentionDays: z.number().int().min(0).max(36_500).default(0),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** OpenAI-compatible servers to forward to. */
    providers: z.array(providerConfigSchema).default([]),
    /** Models served by providers. */
    upstreamModels: z.array(upstreamModelConfigSchema).default([]),
    /** `alias -> model`: other names clients may use (`gpt-4o-mini -> llama-3-8b`). */
    aliases: z.record(modelName, modelName).default({}),
    /** `model -> [fallback, ...]`: models tried in order when one is unavailable before its first token. */
    fallbacks: z.record(modelName, z.array(modelName).min(1)).default({}),
    retry: retryConfigSchema.prefault({}),
    breaker: breakerConfigSchema.prefault({}),
    routing: routingConfigSchema.prefault({}),
    /** `redis://...`: limit counters shared by several control-plane processes; in-process when unset. */
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'use a redis:// or rediss:// URL')
      .optional(),
    /** `model -> price`, per million tokens; `*` prices every model not listed. */
    prices: z.record(z.string().min(1), modelPriceConfigSchema).default({}),
    /** `device class -> US dollars per hour` (`cpu`, `cuda`, `nvidia-h100`; `*` for the rest). */
    computePrices: z.record(z.string().min(1), z.number().min(0).max(1e6)).default({}),
    tenancy: tenancyConfigSchema.prefault({}),
    /** The embedded MQTT broker's port for devices (0 picks a free one); unused when mqttUrl is set. */
    mqttPort: z.number().int().min(0).max(65535).default(1883),
    /** Where the embedded MQTT broker listens. */
    mqttHost: z.string().min(1).default('127.0.0.1'),
    /** An external MQTT broker instead of the embedded one (`mqtt://`, `mqtts://`, `ws://`, `wss://`), or `off` for no devices. */
    mqttUrl: z
      .string()
      .regex(/^(off|(mqtts?|wss?):\/\/.+)$/, 'use mqtt://HOST:1883 (mqtts://, ws://, wss:// also work) or off')
      .optional(),
    /** Start even when the external MQTT broker accepts connections without credentials (it is refused otherwise). */
    mqttAllowAnonymous: z.boolean().default(false),
    devices: devicesConfigSchema.prefault({}),
    audit: auditConfigSchema.prefault({}),
    knowledge: knowledgeConfigSchema.prefault({}),
    responses: responsesConfigSchema.prefault({}),
    mcp: mcpConfigSchema.prefault({}),
    /** Multiplies every price of a batch's lines (0.5: half price). */
    batchDiscount: z.number().min(0).max(1).default(0.5),
    batches: batchesConfigSchema.prefault({}),
    /** How often pool workers beat; a worker silent for 3 intervals is unreachable and its replicas are placed again. */
    poolHeartbeatMs: z.number().int().min(50).max(600_000).default(5_000),
  })
  .superRefine(checkUpstreams);

/** What `checkUpstreams` reads. */
interface UpstreamSettings {
  providers: Array<{ id: string }>;
  upstreamModels: Array<{ id: string; provider: string; routing?: string | undefined }>;
  aliases: Record<string, string>;
  fallbacks: Record<string, string[]>;
}

/** Checks across entries that no single field can: unique ids, known providers, one-level aliases. */
function checkUpstreams(config: UpstreamSettings, context: z.core.$RefinementCtx<UpstreamSettings>): void {
  const issue = (path: PropertyKey[], message: string): void => context.addIssue({ code: 'custom', path, message });
  const providers = new Set<string>();
  for (const [index, provider] of config.providers.entries()) {
    if (providers.has(provider.id)) issue(['providers', index, 'id'], `provider id '${provider.id}' is used twice; give each provider its own id`);
    providers.add(provider.id);
  }
  const replicas = new Set<string>();
  for (const [index, model] of config.upstreamModels.entries()) {
    if (!providers.has(model.provider)) {
      issue(
        ['upstreamModels', index, 'provider'],
        `no provider has id '${model.provider}'; known providers: ${[...providers].join(', ') || 'none (add one under "providers")'}`,
      );
    }
    const key = `${model.id}\u0000${model.provider}`;
    if (replicas.has(key)) issue(['upstreamModels', index], `model '${model.id}' is listed twice on provider '${model.provider}'`);
    replicas.add(key);
  }
  const policies = new Map<string, string>();
  for (const [index, model] of config.upstreamModels.entries()) {
    if (model.routing === undefined) continue;
    const known = policies.get(model.id);
    if (known !== undefined && known !== model.routing) {
      issue(['upstreamModels', index, 'routing'], `model '${model.id}' is routed '${known}' on another entry; give every replica of a model the same routing`);
    }
    policies.set(model.id, model.routing);
  }
  const upstreamIds = new Set(config.upstreamModels.map((model) => model.id));
  for (const [alias, target] of Object.entries(config.aliases)) {
    if (upstreamIds.has(alias)) issue(['aliases', alias], `'${alias}' is already a model name; an alias must be a new name`);
    if (target in config.aliases) issue(['aliases', alias], `'${alias}' points to '${target}', which is itself an alias; point it at a model`);
  }
  for (const [model, chain] of Object.entries(config.fallbacks)) {
    if (chain.includes(model)) issue(['fallbacks', model], `'${model}' lists itself as a fallback`);
  }
}

export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type ProviderConfig = z.infer<typeof providerConfigSchema>;
export type UpstreamModelConfig = z.infer<typeof upstreamModelConfigSchema>;
export type RetryConfig = z.infer<typeof retryConfigSchema>;
export type BreakerConfig = z.infer<typeof breakerConfigSchema>;
export type TenancyConfig = z.infer<typeof tenancyConfigSchema>;
export type DevicesConfig = z.infer<typeof devicesConfigSchema>;
export type NimbusConfig = z.infer<typeof configSchema>;
/** Config as a user writes it: every field optional. */
export type NimbusConfigInput = z.input<typeof configSchema>;

/** How to fix a bad value, per key. */
const hints: Partial<Record<keyof NimbusConfig, string>> = {
  port: 'use a port number from 1 to 65535 (0 picks a free one), e.g. 8080',
  host: 'use an address to bind, e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)',
  allowedHosts: 'use a list of host names with their port, e.g. ["nimbus.internal:8080"]',
  models:
    'each model is {"source": "PATH.gguf or hf:owner/repo/file.gguf"} with optional id, contextSize, slots, spareSlots, threads, gpuLayers, promptCacheMiB, defaultMaxTokens',
  gpu: 'use one of auto, cpu, cuda, vulkan, metal',
  threads: 'use 0 (all cores) or a thread count',
  logLevel: 'use one of fatal, error, warn, info, debug, trace, silent',
  hfEndpoint: 'use a URL such as https://huggingface.co',
  providers:
    'each provider is {"id": "gpu-a", "baseUrl": "http://host:8000/v1"} with optional apiKeyEnv, headers, connectTimeoutMs, firstTokenTimeoutMs, idleTimeoutMs, requestTimeoutMs, maxConnections, forwardFields, maxTokensField (max_tokens or max_completion_tokens)',
  upstreamModels:
    'each upstream model is {"id": "name-clients-use", "provider": "gpu-a"} with optional upstreamModel (the provider\'s name for it) , routing (round-robin, least-outstanding-tokens, prefix-cache, session-affinity, estimated-ttft) and defaultMaxTokens',
  aliases: 'use {"alias": "model"}, e.g. {"gpt-4o-mini": "llama-3-8b"}',
  fallbacks: 'use {"model": ["fallback", ...]}, e.g. {"llama-3-70b": ["llama-3-8b"]}',
  retry: 'keys: maxAttempts, backoffBaseMs, backoffMaxMs, maxRetryAfterMs',
  routing: 'keys: prefixBlockChars (characters per prefix block for prefix-cache routing, at least 16), workerCacheReports (true or false)',
  breaker: 'keys: failureThreshold, openMs',
  redisUrl: 'use redis://HOST:6379 (or rediss:// for TLS)',
  ledgerRetentionDays: 'use a number of days (0 keeps every ledger row)',
  prices: 'use {"model": {"input": 0.15, "output": 0.6}} in US dollars per million tokens, optional cachedInput; "*" prices the rest',
  computePrices: 'use {"cpu": 0.05, "cuda": 2.5} in US dollars per hour',
  tenancy: 'keys: defaultMaxTokens, reserveSecondsPerToken, authCacheMs, concurrencyLeaseMs',
  audit: 'keys: refusalsPerWindow, refusalWindowMs, signingKeyFile, checkpointFile, checkpointIntervalMs',
  mqttPort: 'use a port for the embedded MQTT broker, e.g. 1883 (0 picks a free one), or set mqttUrl to use another broker',
  mqttUrl: 'use the URL of an MQTT broker, e.g. mqtt://127.0.0.1:1883, or off to run without devices',
  mqttAllowAnonymous: 'use true or false (NIMBUS_MQTT_ALLOW_ANONYMOUS=1, or the flag --mqtt-allow-anonymous)',
  poolHeartbeatMs: 'use milliseconds between worker heartbeats, e.g. 5000',
  knowledge: 'keys: maxFileBytes, tenantStorageBytes, embeddingModel',
  responses: 'keys: retentionDays, tenantStorageBytes, maxToolTurns',
  mcp: 'keys: allowedHosts, allowLoopback, connectTimeoutMs, callTimeoutMs, maxResponseBytes, maxTools, maxServers',
  batchDiscount: 'use a factor from 0 to 1 that multiplies the prices of batch lines, e.g. 0.5 for half price',
  batches: 'keys: maxRequests, maxFileBytes, enqueuedTokensPerKey, linesInFlight, completionWindowSeconds',
  devices:
    'keys: topicRoot, commandTimeoutMs, approvalTtlMs, approvalRequestTtlMs, maxDevicesPerRequest, rateLimitPerMinute, rateLimitBurst, maxToolSteps, taintWindowMs, actuationsPerKeyPerMinute, approvalRequestsPerKeyPerMinute',
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
  NIMBUS_SPARE_SLOTS: 'spareSlots',
  NIMBUS_THREADS: 'threads',
  NIMBUS_MAX_QUEUE: 'maxQueue',
  NIMBUS_PROMPT_CACHE_MIB: 'promptCacheMiB',
  NIMBUS_BODY_LIMIT: 'bodyLimit',
  NIMBUS_SHUTDOWN_GRACE_MS: 'shutdownGraceMs',
  NIMBUS_DATABASE_URL: 'databaseUrl',
  NIMBUS_LEDGER_RETENTION_DAYS: 'ledgerRetentionDays',
  NIMBUS_LOG_LEVEL: 'logLevel',
  NIMBUS_REDIS_URL: 'redisUrl',
  NIMBUS_MQTT_PORT: 'mqttPort',
  NIMBUS_MQTT_HOST: 'mqttHost',
  NIMBUS_MQTT_URL: 'mqttUrl',
  NIMBUS_MQTT_ALLOW_ANONYMOUS: 'mqttAllowAnonymous',
  NIMBUS_POOL_HEARTBEAT_MS: 'poolHeartbeatMs',
  NIMBUS_BATCH_DISCOUNT: 'batchDiscount',
};

/** A configuration problem, with the source of the bad value and a fix. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const numericKeys = new Set<string>([
  'port',
  'contextSize',
  'slots',
  'spareSlots',
  'threads',
  'maxQueue',
  'promptCacheMiB',
  'bodyLimit',
  'shutdownGraceMs',
  'mqttPort',
  'poolHeartbeatMs',
  'ledgerRetentionDays',
  'batchDiscount',
]);

/** Converts a string from the environment or a flag into the key's type. */
export function coerceValue(key: keyof NimbusConfig, value: string): unknown {
  if (key === 'mqttAllowAnonymous') return value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;
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
