/**
 * Human decisions and oversight: approvals (`GET /v1/approvals`, `POST /v1/approvals/{id}/grant`
 * and `/deny`), the tenant's emergency stop (`GET|POST|DELETE /v1/estop`) and the audit log
 * (`GET /v1/audit`) and its verification (`GET /v1/audit/verify`), and the taints of keys and
 * conversations (`GET|DELETE /v1/taints`). Granting needs the admin scope; it is never reachable
 * from a model's tools.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NimbusError } from '../../core/errors.js';
import { parseRequest } from '../../core/openai/parse-request.js';
import { parseCheckpoint, type AuditCheckpoint } from '../../devices/audit-checkpoint.js';
import { approvalView, auditView, emergencyStopView } from '../device-views.js';
import type { DeviceServices } from '../server-context.js';

const approvalsQuery = z.object({
  status: z.enum(['requested', 'granted', 'denied', 'used', 'expired', 'void']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
const auditEvents = [
  'proposal',
  'taint',
  'taint_cleared',
  'approvals_voided',
  'denial',
  'approval_requested',
  'approval_granted',
  'approval_denied',
  'approval_redeemed',
  'execution',
  'outcome',
  'read',
  'emergency_stop',
  'emergency_clear',
  'device_registered',
  'device_removed',
  'refusals_aggregated',
] as const;
const auditQuery = z.object({
  device: z.string().optional(),
  event: z.enum(auditEvents).optional(),
  conversation: z.string().optional(),
  command: z.string().optional(),
  since: z.coerce.number().int().optional(),
  until: z.coerce.number().int().optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});
/** Where a person decided: the CLI and the console say so (local mode takes decisions only from them). */
const decisionBody = z.strictObject({ via: z.enum(['cli', 'console']).optional() });
const taintQuery = z.object({ key: z.string().min(1).max(128).optional(), conversation: z.string().min(1).max(128).optional() });
const verifyQuery = z.object({ checkpoint: z.string().max(4096).optional() });
const estopBody = z.strictObject({ reason: z.string().min(1).max(500).optional() });

export function registerApprovalRoutes(app: FastifyInstance, devices: DeviceServices): void {
  const { admin } = devices;

  app.get('/v1/approvals', async (request) => {
    const query = parseRequest(approvalsQuery, request.query);
    return { object: 'list', data: (await admin.approvals(request.principal, query.status, query.limit)).map(approvalView) };
  });

  app.get<{ Params: { id: string } }>('/v1/approvals/:id', async (request) => approvalView(await admin.approval(request.principal, request.params.id)));

  for (const verb of ['grant', 'deny'] as const) {
    app.post<{ Params: { id: string } }>(`/v1/approvals/:id/${verb}`, async (request) => {
      const body = parseRequest(decisionBody, request.body ?? {});
      return approvalView(await admin.decide(request.principal, request.params.id, verb === 'grant', body.via ?? 'api'));
    });
  }

  app.get('/v1/estop', async (request) => emergencyStopView(admin.emergencyStop(request.principal)));

  app.post('/v1/estop', async (request) => {
    const body = parseRequest(estopBody, request.body ?? {});
    return emergencyStopView(await admin.setEmergencyStop(request.principal, true, body.reason ?? 'emergency stop'));
  });

  app.delete('/v1/estop', async (request) => emergencyStopView(await admin.setEmergencyStop(request.principal, false, 'cleared')));

  app.get('/v1/taints', async (request) => ({
    object: 'list',
    data: (await admin.taints(request.principal)).map((taint) => ({
      object: 'taint',
      subject: taint.subject,
      until: taint.until,
      reason: taint.reason,
      set_at: taint.setAt,
    })),
  }));

  app.delete('/v1/taints', async (request) => {
    const query = parseRequest(taintQuery, request.query);
    const cleared = await admin.clearTaint(request.principal, {
      ...(query.key ? { key: query.key } : {}),
      ...(query.conversation ? { conversation: query.conversation } : {}),
    });
    return { object: 'taint.cleared', cleared };
  });

  // The chain checked end to end, against `checkpoint` (a signed checkpoint as JSON) or this server's latest.
  app.get('/v1/audit/verify', async (request) => {
    const query = parseRequest(verifyQuery, request.query);
    let checkpoint: AuditCheckpoint | undefined;
    if (query.checkpoint !== undefined) {
      let value: unknown;
      try {
        value = JSON.parse(query.checkpoint);
      } catch {
        value = undefined;
      }
      checkpoint = parseCheckpoint(value);
      if (!checkpoint) {
        throw new NimbusError('invalid_value', "Invalid value for 'checkpoint': give one line of the checkpoint file (JSON with object 'audit.checkpoint').", {
          param: 'checkpoint',
        });
      }
    }
    const result = await admin.verifyAudit(request.principal, checkpoint);
    return { object: 'audit.verification', ...result, public_key: admin.auditPublicKey ?? null };
  });

  app.get('/v1/audit', async (request) => {
    const query = parseRequest(auditQuery, request.query);
    const entries = await admin.audit(request.principal, {
      ...(query.device ? { deviceId: query.device } : {}),
      ...(query.event ? { event: query.event } : {}),
      ...(query.conversation ? { conversation: query.conversation } : {}),
      ...(query.command ? { commandId: query.command } : {}),
      ...(query.since !== undefined ? { since: query.since } : {}),
      ...(query.until !== undefined ? { until: query.until } : {}),
      ...(query.limit ? { limit: query.limit } : {}),
    });
    return { object: 'list', data: entries.map(auditView) };
  });
}
