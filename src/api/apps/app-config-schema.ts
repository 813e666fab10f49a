/**
 * The app config document as the API (and `nimbus apps apply`) accepts it: zod, no unknown
 * fields (a misspelt field would otherwise be quietly ignored in a config kept in git).
 * `POST /v1/apps` takes it with the app's `name`; a publish takes it alone.
 */
import { z } from 'zod';
import { responseToolSchema, textFormatSchema } from '../../core/openai/response-request-schema.js';
import { appNamePattern } from '../../apps/app-model.js';
import { limitsBodySchema } from '../admin-views.js';

const modelName = z.string().min(1).max(256);
const functionTool = responseToolSchema.options[0];

export const appConfigSchema = z.strictObject({
  description: z.string().max(512).optional(),
  model: z.union([modelName, z.array(modelName).min(1, 'name at least one model').max(8)]),
  instructions: z.string().max(65_536).optional(),
  vector_store_ids: z.array(z.string().min(1)).max(16).optional(),
  tools: z.array(functionTool).max(128).optional(),
  mcp_servers: z
    .array(z.strictObject({ server_label: z.string().min(1).max(64), server_url: z.url() }))
    .max(16)
    .optional(),
  devices: z.union([z.literal('*'), z.array(z.string().min(1).max(256)).max(64)]).optional(),
  text: z.strictObject({ format: textFormatSchema }).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_output_tokens: z.number().int().min(1).optional(),
  limits: limitsBodySchema.optional(),
  memory: z.boolean().optional(),
  post_check: z.string().min(1).max(64).optional(),
});

export const appNameSchema = z.string().regex(appNamePattern, 'use 1 to 63 lower-case letters, digits, - and _, starting with a letter or digit');

/** POST /v1/apps */
export const createAppSchema = appConfigSchema.extend({ name: appNameSchema });

/** POST /v1/apps/NAME/rollback */
export const rollbackSchema = z.strictObject({ version: z.number().int().min(1) });
