/** Device ids: they become MQTT topic levels and tool names, so they are kept to a safe alphabet. */
import { NimbusError } from '../core/errors.js';

const pattern = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** Whether `id` is a valid device id: 1 to 32 lowercase letters, digits and inner dashes. */
export function isDeviceId(id: string): boolean {
  return pattern.test(id) && !id.includes('--');
}

/** Throws a 400 naming `param` unless `id` is a valid device id. */
export function checkDeviceId(id: string, param = 'id'): string {
  if (!isDeviceId(id)) {
    throw new NimbusError(
      'invalid_value',
      `Invalid device id '${id}': use 1 to 32 lowercase letters, digits and single dashes, starting and ending with a letter or digit (e.g. 'lamp-1').`,
      { param },
    );
  }
  return id;
}
