/**
 * A batch's files over the Files API's service: its input read back by id, its output and error
 * files written as files of purpose `batch_output` from the saved results, in line order.
 */
import { Readable } from 'node:stream';
import type { BatchRecord, BatchStore } from '../core/batch-store.js';
import { NimbusError } from '../core/errors.js';
import type { KnowledgeFiles } from '../knowledge/knowledge-files.js';

/** Output files are kept as long as input files: 30 days. */
const outputExpirySeconds = 30 * 86_400;
const page = 500;

export class BatchFiles {
  constructor(
    private readonly files: KnowledgeFiles,
    private readonly store: BatchStore,
  ) {}

  /** The input file's record (purpose and size checked by the caller). */
  input(tenantId: string, fileId: string) {
    return this.files.get(tenantId, fileId);
  }

  /** A stream of the input file's bytes; a 404 when it is gone. */
  async openInput(batch: BatchRecord): Promise<Readable> {
    return (await this.files.content(batch.tenantId, batch.inputFileId)).stream;
  }

  /**
   * Writes the output (`ok`) or error file from the saved results, plus `extra` lines after them
   * (an expired batch's unfinished requests); resolves to the file's id, or null when it would be empty.
   */
  async write(batch: BatchRecord, ok: boolean, extra: readonly string[] = []): Promise<string | null> {
    const store = this.store;
    const first = await store.readResults(batch.id, ok, -1, page);
    if (first.length === 0 && extra.length === 0) return null;
    async function* lines(): AsyncGenerator<string> {
      let results = first;
      while (results.length > 0) {
        yield results.map((result) => `${result.line}\n`).join('');
        if (results.length < page) break;
        results = await store.readResults(batch.id, ok, results.at(-1)!.index, page);
      }
      for (const line of extra) yield `${line}\n`;
    }
    const blob = await this.files.receive(Readable.from(lines()));
    const file = await this.files.register(
      {
        tenantId: batch.tenantId,
        filename: `${batch.id}_${ok ? 'output' : 'error'}.jsonl`,
        purpose: 'batch_output',
        expiresAfterSeconds: outputExpirySeconds,
      },
      blob,
    );
    return file.id;
  }
}

/** The 400 for an input file that is not a batch's. */
export function notBatchInput(fileId: string, purpose: string): NimbusError {
  return new NimbusError('invalid_value', `The file '${fileId}' has purpose '${purpose}'; a batch's input file must be uploaded with purpose 'batch'.`, {
    param: 'input_file_id',
  });
}
