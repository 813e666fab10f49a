/** `nimbus usage`: the ledger summed over a range and grouped, as a table or CSV, through the admin API. */
import { parseArgs } from 'node:util';
import { adminClient, CommandError } from './admin-client.js';
import { renderTable } from './render-table.js';

export const usageUsage = `Usage: nimbus usage [--from DATE] [--to DATE] [--by model,key,day,device_class,status,tenant]
                    [--tenant ID] [--key KEY_ID] [--csv]

Sums tokens, compute-seconds and cost over [--from, --to) (default: the last 30 days), grouped
by the --by dimensions (status: ok, error, cancelled, refused). DATE is YYYY-MM-DD, an ISO time or unix seconds. --csv writes CSV for
a spreadsheet. An admin key sees its tenant (the 'default' tenant's admin sees all); any other
key sees only itself.

Talks to the server at NIMBUS_URL (default http://127.0.0.1:8080) with the key in NIMBUS_API_KEY.`;

type Row = Record<string, string | number | null>;

/** Runs `nimbus usage`; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function usageCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        by: { type: 'string' },
        tenant: { type: 'string' },
        key: { type: 'string' },
        csv: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}. 'nimbus usage --help' shows the usage.`);
    return 2;
  }
  const values = parsed.values;
  if (values.help) {
    console.log(usageUsage);
    return 0;
  }
  const query = new URLSearchParams();
  if (values.from) query.set('start', values.from);
  if (values.to) query.set('end', values.to);
  if (values.by) query.set('group_by', values.by);
  if (values.tenant) query.set('tenant', values.tenant);
  if (values.key) query.set('key', values.key);
  const client = adminClient(environment);
  try {
    if (values.csv) {
      query.set('format', 'csv');
      process.stdout.write(await client.text(`/v1/usage?${query}`));
      return 0;
    }
    const result = await client.json<{ data: Row[]; group_by: string[] }>('GET', `/v1/usage?${query}`);
    console.log(render(result.group_by, result.data));
    return 0;
  } catch (error) {
    if (error instanceof CommandError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

function render(groups: string[], rows: Row[]): string {
  if (rows.length === 0) return 'No usage in this range.';
  const columns = [
    ...groups.map((group) => (group === 'key' ? 'key_id' : group)),
    'requests',
    'prompt_tokens',
    'completion_tokens',
    'compute_seconds',
    'cost_usd',
  ];
  const cell = (value: string | number | null | undefined, column: string): string =>
    value === null || value === undefined ? '-' : column === 'cost_usd' ? Number(value).toFixed(6) : String(value);
  return renderTable([columns.map((column) => column.toUpperCase()), ...rows.map((row) => columns.map((column) => cell(row[column], column)))]);
}
