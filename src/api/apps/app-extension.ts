/**
 * What an app call's request may still say under `nimbus`: `{"approvals": ["apr_..."]}`, the
 * human approvals the client presents for the app's device commands, on `/v1/responses` (with
 * `previous_response_id`, after a response ended with a `nimbus_device_approval_request`) and on
 * chat completions (as chat's own `nimbus.approvals`). Decision 0005: the client, never the model,
 * presents a grant, and the gateway redeems it only for the same command and key; nothing is
 * presented for the client. The rest of chat's `nimbus` options (devices, conversation,
 * untrusted, max_steps) are the app's: a 400 naming the field.
 */
import { z } from 'zod';
import { parseRequest } from '../../core/openai/parse-request.js';
import { NimbusError } from '../../core/errors.js';
import { refuseAppField, type AppCall } from './app-call.js';

const extensionSchema = z.strictObject({ approvals: z.array(z.string().min(1).max(64)).max(16) });

/** The approvals a request presents to an app's call (none when it sends no `nimbus`). */
export function presentedApprovals(call: AppCall, extension: unknown): string[] {
  if (extension === undefined || extension === null) return [];
  if (typeof extension === 'object' && !Array.isArray(extension))
    for (const [field, value] of Object.entries(extension)) if (field !== 'approvals') refuseAppField(call, `nimbus.${field}`, value);
  const approvals = parseRequest(z.strictObject({ nimbus: extensionSchema }), { nimbus: extension }).nimbus.approvals;
  const devices = call.app.config.devices;
  if (approvals.length > 0 && (devices === undefined || devices.length === 0))
    throw new NimbusError('invalid_value', `'nimbus.approvals': the app '${call.app.name}' acts on no device, so there is nothing to approve.`, {
      param: 'nimbus.approvals',
    });
  return approvals;
}
