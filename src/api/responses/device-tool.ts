/**
 * `tools: [{type: "nimbus_devices", devices, approvals, conversation, untrusted}]` of a response:
 * the devices in the key's scope as tools, run by the device executor through the gateway, with
 * the same policy, approvals, caps and audit as chat completions' `nimbus.devices` (whose options
 * these are). Each call is a `nimbus_device_call` item; a command that needs a person's approval
 * is a `nimbus_device_approval_request` item and ends the response there. A person grants it
 * through the approvals API (`POST /v1/approvals/{id}/grant`, the CLI, the console), never with an
 * `mcp_approval_response`; the client then continues the response with `previous_response_id` and
 * presents the approval in the tool's `approvals`.
 */
import { NimbusError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { ActionReport } from '../../devices/action-report.js';
import { deviceExecutor } from '../../devices/tool-loop.js';
import { newToolSession, type ToolSession } from '../../devices/tool-session.js';
import type { Item } from '../../responses/response-items.js';
import { actionView } from '../device-views.js';
import type { ServerToolKind } from '../routes/responses.js';
import type { ServerContext } from '../server-context.js';
import { chatForm } from './server-tool-items.js';

/** The item types of device calls: a conversation's later responses take the audit conversation from them. */
const deviceItemTypes = new Set(['nimbus_device_call', 'nimbus_device_approval_request']);

interface DevicesTool {
  devices: true | string[];
  approvals?: string[] | undefined;
  conversation?: string | undefined;
  untrusted?: boolean | undefined;
}

/** The `nimbus_devices` kind; refuses with a fix when the server runs without devices. */
export function deviceToolKind(context: ServerContext): ServerToolKind {
  return {
    async prepare(tools, request, body, conversation) {
      const devices = context.devices;
      if (!devices)
        throw new NimbusError(
          'unsupported_parameter',
          "This server runs without device support, so 'nimbus_devices' tools cannot be used; start it with an MQTT broker (mqttPort or mqttUrl).",
          { param: 'tools' },
        );
      if (tools.length > 1)
        throw new NimbusError('invalid_value', 'Send at most one nimbus_devices tool; list every device in its devices.', { param: 'tools' });
      const tool = tools[0] as unknown as DevicesTool;
      const principal = request.principal;
      const deviceTools = devices.gateway.tools(principal, tool.devices);
      if (deviceTools.length === 0)
        throw new NimbusError(
          'invalid_value',
          'None of the devices asked for in the nimbus_devices tool is registered and in this key\u2019s device scope. GET /v1/devices lists them.',
          { param: 'tools' },
        );
      const session = newToolSession(principal, 'response', {
        model: body.model,
        conversation: tool.conversation ?? conversationOf(conversation) ?? newId('conv_'),
        approvals: tool.approvals ?? [],
      });
      // Tool output the client sent, or another kind's earlier in the chain, is text from elsewhere (as tool messages in chat).
      let tainted: Promise<void> | undefined =
        tool.untrusted === true || conversation.some(isForeignToolOutput)
          ? devices.gateway.taint(session, 'the conversation holds tool output from elsewhere')
          : undefined;
      let acted = false;
      const executor = deviceExecutor({
        tools: deviceTools,
        session,
        haltOnApproval: true,
        callTool: async (name, args) => {
          await tainted;
          return devices.gateway.callTool(session, name, args);
        },
        onAction: (action) => {
          acted ||= action.report.kind !== 'read';
        },
      });
      // Stored before any device call runs.
      await tainted;
      return {
        executor,
        item: (result) => ({ item: deviceItem(result.outcome.record as ActionReport, chatForm(result), session) }),
        othersResult: (kind) => {
          if (!session.untrusted) tainted = devices.gateway.taint(session, `a ${kind} tool's output entered the conversation`);
          return tainted;
        },
        acted: () => acted,
      };
    },
  };
}

/** A device call as an output item: the action as chat's `nimbus.actions` lists it, or the approval a person must grant. */
function deviceItem(report: ActionReport, call: ReturnType<typeof chatForm>, session: ToolSession): Item {
  const shared = { call_id: call.id, name: call.name, arguments: call.arguments, device: report.deviceId, conversation: session.conversation };
  if (report.status === 'approval_required' && report.approvalId)
    return {
      id: newId('ndar_'),
      type: 'nimbus_device_approval_request',
      ...shared,
      approval_id: report.approvalId,
      ...(report.risk ? { risk: report.risk } : {}),
      message: report.message,
      nimbus_call: call,
    };
  const failed = report.status === 'denied' || report.status === 'failed' || report.status === 'rejected' || report.status === 'timed_out';
  return { id: newId('ndc_'), type: 'nimbus_device_call', status: failed ? 'failed' : 'completed', ...shared, action: actionView(report), nimbus_call: call };
}

/** The audit conversation of the latest device item in the chain, if any. */
function conversationOf(items: readonly Item[]): string | undefined {
  for (let index = items.length - 1; index >= 0; index -= 1) {
    const item = items[index]!;
    if (deviceItemTypes.has(item.type) && typeof item.conversation === 'string') return item.conversation;
  }
  return undefined;
}

/** A tool's output that did not come from a device through the gateway: a function's output from the client, a search's passages. */
function isForeignToolOutput(item: Item): boolean {
  if (item.type === 'function_call_output') return true;
  return item.nimbus_call !== undefined && !deviceItemTypes.has(item.type);
}
