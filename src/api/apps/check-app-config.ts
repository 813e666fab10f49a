/**
 * What a config names must exist when a version is written: each model (or fallback) is served,
 * each vector store and device is the tenant's. A missing one is a 400 naming the field
 * (`model[1]`, `vector_store_ids[0]`, `devices[2]`), so `nimbus apps apply` says which line to fix.
 */
import type { AppConfig } from '../../core/app-config.js';
import { isNimbusError, NimbusError } from '../../core/errors.js';
import { postCheckNamed, postChecks } from '../../templates/post-checks.js';
import type { ServerContext } from '../server-context.js';

export async function checkAppConfig(context: ServerContext, tenantId: string, config: AppConfig): Promise<void> {
  const models = typeof config.model === 'string' ? [config.model] : config.model;
  models.forEach((model, index) => {
    const param = typeof config.model === 'string' ? 'model' : `model[${index}]`;
    try {
      context.catalog.route(model);
    } catch (error) {
      // A model still loading (nothing ready yet) cannot be told from a missing one: it is let through.
      if (isNimbusError(error) && error.code === 'model_not_ready') return;
      throw new NimbusError('invalid_value', `${param}: the model '${model}' is not served here. GET /v1/models lists the models this server serves.`, {
        param,
      });
    }
  });
  if (config.post_check !== undefined && !postCheckNamed(config.post_check))
    throw new NimbusError(
      'invalid_value',
      `post_check: there is no post-check named '${config.post_check}'; known: ${Object.keys(postChecks).join(', ')} (docs/extending.md, "Add a post-check").`,
      { param: 'post_check' },
    );
  const names = new Set<string>();
  for (const [index, tool] of (config.tools ?? []).entries()) {
    if (names.has(tool.name)) throw new NimbusError('invalid_value', `tools[${index}].name: '${tool.name}' is named twice.`, { param: `tools[${index}].name` });
    names.add(tool.name);
  }
  for (const [index, id] of (config.vector_store_ids ?? []).entries()) {
    if (!(await context.store.knowledge.getVectorStore(tenantId, id)))
      throw new NimbusError('invalid_value', `vector_store_ids[${index}]: no vector store '${id}' in this tenant. GET /v1/vector_stores lists them.`, {
        param: `vector_store_ids[${index}]`,
      });
  }
  const devices = config.devices;
  if (devices === undefined || (Array.isArray(devices) && devices.length === 0)) return;
  if (!context.devices)
    throw new NimbusError('invalid_value', 'devices: this server runs without device support (start it with an MQTT broker), so an app cannot name devices.', {
      param: 'devices',
    });
  if (devices === '*') return;
  for (const [index, id] of devices.entries()) {
    if (!(await context.store.devices.getDevice(tenantId, id)))
      throw new NimbusError('invalid_value', `devices[${index}]: no device '${id}' in this tenant. GET /v1/devices lists them.`, {
        param: `devices[${index}]`,
      });
  }
}
