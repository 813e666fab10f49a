/**
 * The knowledge section of the Store contract over Kysely, portable across SQLite and PostgreSQL:
 * files' metadata (their bytes are on disk, src/knowledge/file-blobs.ts), every query scoped by
 * tenant, and vector stores (kysely-vector-store.ts) over the dialect's lexical index.
 */
import type { Kysely, Selectable } from 'kysely';
import type { FileListQuery, FilePurpose, FileRecord, KnowledgeStore } from '../core/knowledge-store.js';
import type { KnowledgeFilesTable } from './knowledge-schema.js';
import { KyselyVectorStore } from './kysely-vector-store.js';
import type { LexicalIndex } from './lexical-index.js';
import type { Database } from './schema.js';

export class KyselyKnowledgeStore extends KyselyVectorStore implements KnowledgeStore {
  constructor(
    private readonly files: Kysely<Database>,
    index: LexicalIndex,
  ) {
    super(files, index);
  }

  async putFile(file: FileRecord): Promise<void> {
    await this.files
      .insertInto('knowledge_files')
      .values({
        id: file.id,
        tenant_id: file.tenantId,
        filename: file.filename,
        purpose: file.purpose,
        bytes: file.bytes,
        sha256: file.sha256,
        created_at: file.createdAt,
        expires_at: file.expiresAt,
      })
      .execute();
  }

  async getFile(tenantId: string, id: string, now: number): Promise<FileRecord | undefined> {
    const row = await this.files.selectFrom('knowledge_files').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row && !expired(row, now) ? fileFromRow(row) : undefined;
  }

  async listFiles(tenantId: string, query: FileListQuery): Promise<FileRecord[]> {
    let select = this.files
      .selectFrom('knowledge_files')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where((where) => where.or([where('expires_at', 'is', null), where('expires_at', '>', query.now)]));
    if (query.purpose !== undefined) select = select.where('purpose', '=', query.purpose);
    if (query.after !== undefined) select = select.where('id', query.order === 'asc' ? '>' : '<', query.after);
    const rows = await select.orderBy('id', query.order).limit(query.limit).execute();
    return rows.map(fileFromRow);
  }

  async deleteFile(tenantId: string, id: string): Promise<FileRecord | undefined> {
    return this.files.transaction().execute(async (transaction) => {
      const row = await transaction.selectFrom('knowledge_files').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      await transaction.deleteFrom('knowledge_files').where('id', '=', id).execute();
      return fileFromRow(row);
    });
  }

  async tenantBytes(tenantId: string): Promise<number> {
    const row = await this.files
      .selectFrom('knowledge_files')
      .select((select) => select.fn.sum<number | string | null>('bytes').as('total'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    return Number(row?.total ?? 0);
  }

  async countBySha256(sha256: string): Promise<number> {
    const row = await this.files
      .selectFrom('knowledge_files')
      .select((select) => select.fn.countAll<number | string>().as('count'))
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    return Number(row?.count ?? 0);
  }

  async expiredFiles(now: number, limit: number): Promise<FileRecord[]> {
    const rows = await this.files.selectFrom('knowledge_files').selectAll().where('expires_at', '<=', now).orderBy('expires_at').limit(limit).execute();
    return rows.map(fileFromRow);
  }
}

function expired(row: Selectable<KnowledgeFilesTable>, now: number): boolean {
  return row.expires_at !== null && Number(row.expires_at) <= now;
}

function fileFromRow(row: Selectable<KnowledgeFilesTable>): FileRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    filename: row.filename,
    purpose: row.purpose as FilePurpose,
    bytes: Number(row.bytes),
    sha256: row.sha256,
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  };
}
