/**
 * Writes checkpoints of every tenant's audit chain head: at start (so a chain that existed before
 * checkpoints gets its first one on upgrade), every `intervalMs` for chains that grew, and at
 * shutdown. Each is appended as a JSON line to the checkpoint file (`<home>/audit-checkpoints.jsonl`)
 * and logged (`audit checkpoint`), for the operator to ship somewhere the database's writers
 * cannot reach; `nimbus audit verify --checkpoints FILE` checks the chain against the latest.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { DeviceStore } from '../core/device-store.js';
import { latestCheckpoints, signCheckpoint, type AuditCheckpoint } from './audit-checkpoint.js';
import type { AuditSigningKey } from './audit-signing-key.js';
import type { DeviceLogger } from './device-logger.js';

export interface AuditCheckpointerOptions {
  store: DeviceStore;
  key: AuditSigningKey;
  /** The JSON-lines file checkpoints are appended to. */
  file: string;
  /** How often chains that grew get a new checkpoint. */
  intervalMs: number;
  clock: Pick<Clock, 'now'>;
  logger: DeviceLogger;
}

export class AuditCheckpointer {
  private readonly latest: Map<string, AuditCheckpoint>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: AuditCheckpointerOptions) {
    let lines = '';
    try {
      lines = readFileSync(options.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.latest = latestCheckpoints(lines);
  }

  /** The public key that verifies this server's checkpoints (PEM). */
  get publicKey(): string {
    return this.options.key.publicPem;
  }

  /** This server's latest checkpoint of a tenant's chain. */
  checkpoint(tenantId: string): AuditCheckpoint | undefined {
    return this.latest.get(tenantId);
  }

  /** Checkpoints every chain now, then every interval. */
  async start(): Promise<void> {
    this.options.logger.info(
      { key: this.options.key.keyId, file: this.options.file },
      'audit checkpoints: signed with this key; ship the file or these log lines elsewhere',
    );
    await this.run();
    this.timer = setInterval(() => void this.run(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer after a last checkpoint (call once the log is settled). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.run();
  }

  /** Checkpoints every chain whose head moved since its latest checkpoint. */
  run(): Promise<unknown> {
    this.running = this.running
      .then(() => this.checkpointHeads())
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'could not checkpoint the audit log'));
    return this.running;
  }

  private async checkpointHeads(): Promise<void> {
    for (const head of await this.options.store.auditHeads()) {
      const known = this.latest.get(head.tenantId);
      if (known && known.seq === head.seq && known.hash === head.hash) continue;
      // Never sign over a chain that no longer holds the last checkpointed entry (rewritten or truncated behind our back).
      const [kept] = known ? await this.options.store.auditChain(head.tenantId, known.seq - 1, 1) : [];
      if (known && (kept?.seq !== known.seq || kept.hash !== known.hash)) {
        this.options.logger.error(
          { tenant: head.tenantId, checkpoint: { seq: known.seq, hash: known.hash } },
          `audit chain of tenant '${head.tenantId}' no longer holds its checkpointed entry (seq ${known.seq}): not signing it; run 'nimbus audit verify'`,
        );
        continue;
      }
      const checkpoint = signCheckpoint(head, this.options.key, this.options.clock.now());
      mkdirSync(dirname(this.options.file), { recursive: true });
      appendFileSync(this.options.file, `${JSON.stringify(checkpoint)}\n`, { mode: 0o644 });
      this.latest.set(head.tenantId, checkpoint);
      this.options.logger.info({ checkpoint }, 'audit checkpoint');
    }
  }
}
