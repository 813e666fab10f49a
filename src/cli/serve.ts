/** `nimbus serve`: run the server. Flags beat environment variables, which beat the config file. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { coerceValue, ConfigError, environmentKeys, resolveConfig, type ConfigLayer, type NimbusConfig } from '../core/config.js';
import { startNimbus } from '../main.js';
import { modelsSettledLine, startUpBanner } from './start-up-banner.js';

export const serveUsage = `Usage: nimbus serve [options]

Options (each also settable as an environment variable or in a JSON config file):
  -c, --config FILE      JSON config file (NIMBUS_CONFIG)
      --host HOST        address to bind (NIMBUS_HOST, default 127.0.0.1)
  -p, --port PORT        port (NIMBUS_PORT, default 8080)
  -m, --model SOURCE     model to serve: PATH.gguf or hf:owner/repo/file.gguf; repeatable (NIMBUS_MODELS, comma-separated)
      --home DIR         model cache and database (NIMBUS_HOME, default ~/.cache/nimbus)
      --ctx N            context tokens per slot (NIMBUS_CTX, default 4096)
      --slots N          requests generated at once per model (NIMBUS_SLOTS, default 4)
      --spare-slots N    more sequences per model for interactive requests while batch lines hold
                         the slots; each costs one slot's KV memory (NIMBUS_SPARE_SLOTS, default 1)
      --threads N        CPU threads, 0 = all (NIMBUS_THREADS)
      --gpu MODE         auto | cpu | cuda | vulkan | metal (NIMBUS_GPU)
      --max-queue N      requests that may wait for a slot (NIMBUS_MAX_QUEUE, default 64)
      --prompt-cache MIB evicted slot states kept in RAM per model for prefix reuse, 0 = off (NIMBUS_PROMPT_CACHE_MIB, default 512)
      --database URL     sqlite:PATH or postgres://USER:PASSWORD@HOST:5432/DB (NIMBUS_DATABASE_URL)
      --redis URL        redis://HOST:6379: limits shared by several servers (NIMBUS_REDIS_URL)
      --ledger-retention-days N  raw ledger rows kept N days, hourly sums kept (NIMBUS_LEDGER_RETENTION_DAYS, default 0 = all)
      --mqtt-port PORT   the embedded MQTT broker for devices (NIMBUS_MQTT_PORT, default 1883; 0 = any free port)
      --mqtt-url URL     an external MQTT broker instead, mqtt://USER:PASSWORD@HOST:1883, or off (NIMBUS_MQTT_URL)
      --mqtt-allow-anonymous  start even if that broker accepts connections without credentials (NIMBUS_MQTT_ALLOW_ANONYMOUS)
      --log-level LEVEL  fatal | error | warn | info | debug | silent (NIMBUS_LOG_LEVEL)

Upstream OpenAI-compatible servers (providers, upstreamModels, aliases, fallbacks, retry,
breaker) are set in the config file; see the README, "Upstreams".`;

const flagKeys: Record<string, keyof NimbusConfig> = {
  host: 'host',
  port: 'port',
  home: 'home',
  ctx: 'contextSize',
  slots: 'slots',
  'spare-slots': 'spareSlots',
  threads: 'threads',
  gpu: 'gpu',
  'max-queue': 'maxQueue',
  'prompt-cache': 'promptCacheMiB',
  database: 'databaseUrl',
  redis: 'redisUrl',
  'ledger-retention-days': 'ledgerRetentionDays',
  'mqtt-port': 'mqttPort',
  'mqtt-url': 'mqttUrl',
  'log-level': 'logLevel',
};

/** Reads config from flags, environment and file; throws ConfigError with the fix. */
export function loadConfig(argv: string[], environment: NodeJS.ProcessEnv): NimbusConfig {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' },
        model: { type: 'string', short: 'm', multiple: true },
        port: { type: 'string', short: 'p' },
        'mqtt-allow-anonymous': { type: 'boolean' },
        ...Object.fromEntries(
          Object.keys(flagKeys)
            .filter((name) => name !== 'port')
            .map((name) => [name, { type: 'string' as const }]),
        ),
      },
    });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n\n${serveUsage}`);
  }
  const layers: ConfigLayer[] = [];
  const configPath = parsed.values.config ?? environment.NIMBUS_CONFIG;
  if (configPath) {
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `Cannot read config file '${configPath}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Check the path given to --config or NIMBUS_CONFIG.`,
      );
    }
    let values: unknown;
    try {
      values = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`Config file '${configPath}' is not valid JSON: ${(error as Error).message}.`);
    }
    if (values === null || typeof values !== 'object' || Array.isArray(values)) throw new ConfigError(`Config file '${configPath}' must hold a JSON object.`);
    layers.push({ source: configPath, values: values as Record<string, unknown> });
  }
  const fromEnvironment: ConfigLayer = { source: 'environment', values: {} };
  for (const [name, key] of Object.entries(environmentKeys)) {
    const value = environment[name];
    if (value !== undefined && value !== '') fromEnvironment.values[key] = coerceValue(key, value);
  }
  layers.push(fromEnvironment);
  const fromFlags: ConfigLayer = { source: 'command-line flags', values: {} };
  for (const [flag, key] of Object.entries(flagKeys)) {
    const value = (parsed.values as Record<string, unknown>)[flag];
    if (typeof value === 'string') fromFlags.values[key] = coerceValue(key, value);
  }
  if (parsed.values['mqtt-allow-anonymous']) fromFlags.values.mqttAllowAnonymous = true;
  if (parsed.values.model) fromFlags.values.models = parsed.values.model.map((source) => ({ source }));
  layers.push(fromFlags);
  return resolveConfig(layers);
}

export async function serveCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(serveUsage);
    return 0;
  }
  let config: NimbusConfig;
  try {
    config = loadConfig(argv, environment);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const nimbus = await startNimbus(config);
  // What a person (and a script waiting for the port) looks for, whatever the log level.
  console.error(startUpBanner(nimbus.facts).join('\n'));
  void nimbus.modelsSettled.then(() => {
    const { catalog } = nimbus.context;
    console.error(
      modelsSettledLine(
        catalog.ready().map((model) => model.id),
        catalog.notReadyReason(),
      ),
    );
  });
  return new Promise<number>((resolve) => {
    let signals = 0;
    const stop = (signal: NodeJS.Signals): void => {
      signals += 1;
      if (signals > 1) {
        nimbus.app.log.warn(`${signal} again: exiting now`);
        resolve(1);
        return;
      }
      nimbus.app.log.info(
        `${signal}: no longer accepting requests; waiting up to ${config.shutdownGraceMs} ms for ${nimbus.context.lifecycle.inFlight} in flight`,
      );
      void nimbus.shutdown().then(({ finished }) => {
        nimbus.app.log.info(finished ? 'all requests finished; bye' : 'grace period over: remaining requests were stopped; bye');
        resolve(0);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
