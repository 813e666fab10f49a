/**
 * Adds device support to a built server: the devices, approvals, emergency-stop and audit routes,
 * the MCP endpoint, and `nimbus.devices` in chat completions (through `context.devices`).
 * Called by main.ts before the server listens, once devices have started.
 */
import type { FastifyInstance } from 'fastify';
import { deviceLiveEvent } from './device-live-events.js';
import { syncDeviceRegistry } from './device-registry-sync.js';
import { registerApprovalRoutes } from './routes/approvals.js';
import { registerDeviceRoutes } from './routes/devices.js';
import { registerMcpRoute } from './routes/mcp.js';
import type { DeviceServices, ServerContext } from './server-context.js';

export function installDevices(app: FastifyInstance, context: ServerContext, devices: DeviceServices, version: string): void {
  context.devices = devices;
  const stopWatching = devices.gateway.watch((change) => context.events.publish(deviceLiveEvent(change)));
  // Devices registered, changed or removed through another control plane on the same store.
  const stopSync = syncDeviceRegistry(context.events, (tenantId, id) => devices.admin.reload(tenantId, id), app.log);
  app.addHook('onClose', async () => {
    stopWatching();
    stopSync();
  });
  registerDeviceRoutes(app, devices);
  registerApprovalRoutes(app, devices);
  registerMcpRoute(app, devices, version);
}
