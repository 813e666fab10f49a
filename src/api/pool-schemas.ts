/** Request bodies of the pool's worker API and admin API, checked before the runtime sees them. */
import { z } from 'zod';

const name = z.string().regex(/^[A-Za-z0-9][\w.-]{0,62}$/, 'use letters, digits, . _ - (at most 63, starting with a letter or digit)');
const bytes = z
  .number()
  .int()
  .min(0)
  .max(2 ** 53);

const hardwareSchema = z.object({
  cpuModel: z.string().max(256),
  cores: z.number().int().min(0).max(100_000),
  ramTotalBytes: bytes,
  ramFreeBytes: bytes,
  cpuUtilization: z.number().min(0).max(1).optional(),
  gpus: z
    .array(
      z.object({
        index: z.number().int().min(0).max(1024),
        name: z.string().max(256),
        totalBytes: bytes,
        freeBytes: bytes,
        backend: z.string().max(32),
        utilizationPercent: z.number().min(0).max(100).optional(),
        driver: z.string().max(64).optional(),
      }),
    )
    .max(64),
});

const loadSchema = z.object({
  activeSequences: z.number().int().min(0),
  queueDepth: z.number().int().min(0),
  tokensPerSecond: z.number().min(0),
  memoryInUseBytes: bytes,
});

export const joinSchema = z.strictObject({
  token: z.string().min(1).max(256),
  name,
  endpoint: z.url({ protocol: /^https?$/ }),
  hardware: hardwareSchema,
});

export const heartbeatSchema = z.strictObject({
  load: loadSchema,
  hardware: hardwareSchema,
  replicas: z
    .array(
      z.object({
        id: z.string().max(64),
        state: z.enum(['loading', 'ready', 'failed']),
        error: z.string().max(2000).optional(),
        prefixKeys: z.array(z.string().max(16)).max(256).optional(),
        prefixKeysComplete: z.boolean().optional(),
        prefixBlockChars: z.number().int().min(1).optional(),
        kvTokens: z.number().int().min(1).max(1e12).optional(),
      }),
    )
    .max(1000),
});

export const joinTokenSchema = z.strictObject({ expires_in_seconds: z.number().int().min(1).max(31_536_000).optional() });

/** Autoscale fields, on deploy and on scale; any of them turns autoscaling on, `autoscale: false` off. */
const autoscaleFields = {
  autoscale: z.boolean().optional(),
  min_replicas: z.number().int().min(0).max(256).optional(),
  max_replicas: z.number().int().min(1).max(256).optional(),
  target_queue_per_replica: z.number().gt(0).max(10_000).optional(),
  scale_down_delay_ms: z.number().int().min(0).max(86_400_000).optional(),
  scale_from_zero_timeout_ms: z.number().int().min(100).max(3_600_000).optional(),
};

export const deploySchema = z.strictObject({
  model: z.string().min(1).max(1024),
  name: z
    .string()
    .regex(/^[\w.:/-]{1,128}$/, 'use letters, digits and . _ : / - (at most 128)')
    .optional(),
  /** Default 1; with autoscaling, the minimum. */
  replicas: z.number().int().min(0).max(256).optional(),
  device: z.enum(['auto', 'gpu', 'cpu']).default('auto'),
  context_size: z.number().int().min(64).max(1_048_576).default(4096),
  slots: z.number().int().min(1).max(256).default(4),
  /** Default 1 (`defaultSpareSlots`, decision 0017); 0 for none. */
  spare_slots: z.number().int().min(0).max(256).optional(),
  routing: z.string().min(1).max(64).default('estimated-ttft'),
  ...autoscaleFields,
});

export const scaleSchema = z.strictObject({ replicas: z.number().int().min(0).max(256).optional(), ...autoscaleFields });

export const drainSchema = z.strictObject({ draining: z.boolean().default(true) });
