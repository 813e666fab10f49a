/**
 * `nimbus audit verify`: checks the tenant's audit chain on the server (`GET /v1/audit/verify`),
 * against the latest checkpoint of a checkpoint file the operator kept elsewhere
 * (`--checkpoints`), whose signature this command also checks itself with `--public-key`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkpointSigned, latestCheckpoints } from '../devices/audit-checkpoint.js';
import type { AuditVerification } from '../devices/audit-verify.js';
import { adminClient } from './admin-client.js';
import { formatMs, reportError } from './device-output.js';

export const auditVerifyUsage = `Usage: nimbus audit verify [--checkpoints FILE] [--public-key FILE] [--json]

Checks every entry of this tenant's audit chain (its hash and its link to the one before) and the
chain against a signed checkpoint: the latest for this tenant in FILE (the server's
<home>/audit-checkpoints.jsonl, or its 'audit checkpoint' log lines, copied elsewhere), else the
server's own latest. --public-key (the server's <home>/audit-signing.key.pub) checks the
checkpoint's signature here too. Exit 0 verified, 1 broken or not verifiable, 2 bad usage.`;

const statusWords: Record<string, string> = {
  matched: 'matched',
  missing: 'MISSING: the chain has no entry at that seq (truncated)',
  mismatch: 'MISMATCH: the entry at that seq differs (rewritten)',
  bad_signature: 'BAD SIGNATURE: not signed by this server key',
  other_tenant: 'for another tenant',
};

/** Runs `nimbus audit verify`; returns the exit code. */
export async function auditVerifyCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { checkpoints: { type: 'string' }, 'public-key': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}. 'nimbus audit verify --help' shows the usage.`);
    return 2;
  }
  const options = parsed.values;
  if (options.help) {
    console.log(auditVerifyUsage);
    return 0;
  }
  try {
    const client = adminClient(environment);
    let query = '';
    if (options.checkpoints !== undefined) {
      const me = await client.json<{ tenant: string }>('GET', '/v1/me');
      const checkpoint = latestCheckpoints(readFileSync(options.checkpoints, 'utf8')).get(me.tenant);
      if (!checkpoint) {
        console.error(`error: ${options.checkpoints} holds no checkpoint of tenant '${me.tenant}'.`);
        return 1;
      }
      if (options['public-key'] !== undefined && !checkpointSigned(checkpoint, readFileSync(options['public-key'], 'utf8'))) {
        console.error(`error: the latest checkpoint of '${me.tenant}' in ${options.checkpoints} is not signed by the key in ${options['public-key']}.`);
        return 1;
      }
      query = `?checkpoint=${encodeURIComponent(JSON.stringify(checkpoint))}`;
    }
    const result = await client.json<AuditVerification>('GET', `/v1/audit/verify${query}`);
    if (options.json) console.log(JSON.stringify(result, null, 2));
    else {
      const head = result.head ? `head seq ${result.head.seq}` : 'empty';
      console.log(`audit chain of '${result.tenant}': ${result.entries} entries, ${head}`);
      if (result.broken)
        console.log(
          `BROKEN at seq ${result.broken.seq} (${result.broken.id}): ${result.broken.problem === 'hash' ? 'its content does not give its hash' : 'it does not follow the entry before it'}`,
        );
      if (result.checkpoint)
        console.log(
          `checkpoint seq ${result.checkpoint.seq} of ${formatMs(result.checkpoint.at)}: ${statusWords[result.checkpoint.status] ?? result.checkpoint.status}`,
        );
      else console.log('no checkpoint to check against: truncation and rewrites that recompute the hashes go unseen');
      console.log(result.ok ? 'verified' : 'NOT VERIFIED');
    }
    return result.ok ? 0 : 1;
  } catch (error) {
    return reportError(error);
  }
}
