/** Table types of the knowledge section (migrations 0024 on), for Kysely; JSON columns hold text. */

export interface KnowledgeFilesTable {
  id: string;
  tenant_id: string;
  filename: string;
  purpose: string;
  bytes: number;
  sha256: string;
  created_at: number;
  expires_at: number | null;
}

/** The knowledge section's tables, merged into `Database`. */
export interface KnowledgeTables {
  knowledge_files: KnowledgeFilesTable;
}
