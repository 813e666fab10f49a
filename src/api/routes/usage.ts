/**
 * `GET /v1/usage`: the ledger summed over a time range and grouped by model, key, day, hour, device
 * class, status (served, refused, failed, cancelled), app, app version and tenant (for the
 * operator), optionally of one app (`app`), as JSON or as CSV (`format=csv`). Each caller sees
 * only what is theirs: the operator every tenant, a tenant's admin its tenant, any other key itself.
 */
import type { FastifyInstance } from 'fastify';
import { NimbusError } from '../../core/errors.js';
import type { UsageDimension, UsageQuery, UsageRow } from '../../core/tenancy-store.js';
import { nanoUsdToUsd } from '../../tenancy/price-table.js';
import { isOperator, tenantInScope } from '../admin-access.js';
import { tenantIdSchema } from '../admin-views.js';
import { parseTime } from '../parse-time.js';
import type { ServerContext } from '../server-context.js';

const dimensions: readonly UsageDimension[] = ['tenant', 'model', 'key', 'day', 'hour', 'device_class', 'status', 'app', 'app_version'];
const parameters = new Set(['start', 'end', 'group_by', 'tenant', 'key', 'app', 'format']);
const defaultRangeMs = 30 * 86_400_000;

function parseGroups(value: string | undefined): UsageDimension[] {
  if (value === undefined || value === '') return [];
  const groups = value.split(',').map((part) => part.trim());
  for (const group of groups) {
    if (!dimensions.includes(group as UsageDimension)) {
      throw new NimbusError('invalid_value', `Invalid value for 'group_by': '${group}'. Group by any of ${dimensions.join(', ')} (comma-separated).`, {
        param: 'group_by',
      });
    }
  }
  return [...new Set(groups)] as UsageDimension[];
}

function rowView(row: UsageRow): Record<string, string | number | null> {
  const view: Record<string, string | number | null> = {};
  if (row.tenantId !== undefined) view.tenant = row.tenantId;
  if (row.model !== undefined) view.model = row.model;
  if (row.keyId !== undefined) view.key_id = row.keyId;
  if (row.day !== undefined) view.day = row.day;
  if (row.hour !== undefined) view.hour = row.hour;
  if (row.deviceClass !== undefined) view.device_class = row.deviceClass;
  if (row.status !== undefined) view.status = row.status;
  if (row.app !== undefined) view.app = row.app;
  if (row.appVersion !== undefined) view.app_version = row.appVersion;
  return {
    ...view,
    requests: row.requests,
    prompt_tokens: row.promptTokens,
    cached_tokens: row.cachedTokens,
    completion_tokens: row.completionTokens,
    total_tokens: row.promptTokens + row.completionTokens,
    compute_seconds: Math.round(row.computeSeconds * 1000) / 1000,
    cost_usd: nanoUsdToUsd(row.costNanoUsd),
  };
}

/** One CSV field: quoted where needed, and never read as a formula by a spreadsheet. */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function toCsv(groups: readonly UsageDimension[], rows: Array<Record<string, string | number | null>>): string {
  const columns = [
    ...groups.map((group) => (group === 'key' ? 'key_id' : group)),
    'requests',
    'prompt_tokens',
    'cached_tokens',
    'completion_tokens',
    'total_tokens',
    'compute_seconds',
    'cost_usd',
  ];
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((column) => csvField(row[column] ?? null)).join(','));
  return `${lines.join('\n')}\n`;
}

export function registerUsageRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get('/v1/usage', async (request, reply) => {
    const query = request.query as Record<string, string | string[] | undefined>;
    for (const [name, value] of Object.entries(query)) {
      if (!parameters.has(name)) {
        throw new NimbusError('unsupported_parameter', `Unknown query parameter '${name}'; GET /v1/usage takes ${[...parameters].join(', ')}.`, {
          param: name,
        });
      }
      if (Array.isArray(value)) throw new NimbusError('invalid_value', `Give '${name}' once (group_by takes a comma-separated list).`, { param: name });
    }
    const text = query as Record<string, string | undefined>;
    const until = text.end !== undefined ? parseTime(text.end, 'end') : Date.now();
    const since = text.start !== undefined ? parseTime(text.start, 'start') : until - defaultRangeMs;
    if (since >= until) throw new NimbusError('invalid_value', "Invalid range: 'start' must be before 'end'.", { param: 'start' });
    const groupBy = parseGroups(text.group_by);
    const format = text.format ?? 'json';
    if (format !== 'json' && format !== 'csv') throw new NimbusError('invalid_value', "Invalid value for 'format': use json or csv.", { param: 'format' });
    if (text.tenant !== undefined && !tenantIdSchema.safeParse(text.tenant).success) {
      throw new NimbusError('invalid_value', `Invalid value for 'tenant': '${text.tenant}' is not a tenant id.`, { param: 'tenant' });
    }
    const principal = request.principal;
    const usageQuery: UsageQuery = { since, until, groupBy };
    // One app's calls (the console's Apps page), within what the caller may read anyway.
    if (text.app !== undefined) usageQuery.appId = text.app;
    if (principal.scopes.admin) {
      const tenantId = tenantInScope(principal, text.tenant);
      if (tenantId !== undefined) usageQuery.tenantId = tenantId;
      if (text.key !== undefined) usageQuery.keyId = text.key;
    } else {
      // A key without admin scope reads its own usage only.
      if ((text.key !== undefined && text.key !== principal.keyId) || (text.tenant !== undefined && text.tenant !== principal.tenantId)) {
        throw new NimbusError('permission_denied', 'This API key may read only its own usage (it has no admin scope).', {
          param: text.key !== undefined ? 'key' : 'tenant',
        });
      }
      usageQuery.tenantId = principal.tenantId;
      if (principal.keyId !== null) usageQuery.keyId = principal.keyId;
    }
    if (groupBy.includes('tenant') && !isOperator(principal)) usageQuery.tenantId = principal.tenantId;
    await context.store.flush();
    const rows = (await context.store.tenancy.usage(usageQuery)).map(rowView);
    if (format === 'csv') {
      return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="nimbus-usage.csv"').send(toCsv(groupBy, rows));
    }
    return { object: 'list', start: Math.floor(since / 1000), end: Math.floor(until / 1000), group_by: groupBy, data: rows };
  });
}
