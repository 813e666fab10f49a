/**
 * PostgreSQL's lexical index: one posting per term per chunk (with its count) and the number of
 * chunks per term, per vector store. BM25 is computed in SQL with FTS5's formula from these and
 * the store's corpus size (not `ts_rank`, which is no BM25), so a search scores as on SQLite.
 */
import { sql } from 'kysely';
import type { LexicalIndex } from '../lexical-index.js';

/** Rows per insert statement (PostgreSQL takes at most 65,535 parameters). */
const rowsPerInsert = 5_000;

function chunked<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

export const postingsIndex: LexicalIndex = {
  async create() {},

  async drop(transaction, store) {
    await transaction.deleteFrom('knowledge_postings').where('vector_store_id', '=', store.id).execute();
    await transaction.deleteFrom('knowledge_terms').where('vector_store_id', '=', store.id).execute();
  },

  async add(transaction, store, chunks) {
    const postings = chunks.flatMap((chunk) => Object.entries(chunk.counts).map(([term, tf]) => ({ vector_store_id: store.id, term, chunk_id: chunk.id, tf })));
    for (const rows of chunked(postings, rowsPerInsert)) await transaction.insertInto('knowledge_postings').values(rows).execute();
    const frequencies = new Map<string, number>();
    for (const chunk of chunks) for (const term in chunk.counts) frequencies.set(term, (frequencies.get(term) ?? 0) + 1);
    const terms = [...frequencies].sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
    for (const rows of chunked(terms, rowsPerInsert)) {
      await transaction
        .insertInto('knowledge_terms')
        .values(rows.map(([term, df]) => ({ vector_store_id: store.id, term, df })))
        .onConflict((conflict) => conflict.columns(['vector_store_id', 'term']).doUpdateSet({ df: sql`knowledge_terms.df + excluded.df` }))
        .execute();
    }
  },

  async remove(transaction, store, chunks) {
    if (chunks.length === 0) return;
    await transaction
      .deleteFrom('knowledge_postings')
      .where('vector_store_id', '=', store.id)
      .where(
        'chunk_id',
        'in',
        chunks.map((chunk) => chunk.id),
      )
      .execute();
    const frequencies = new Map<string, number>();
    for (const chunk of chunks) for (const term in chunk.counts) frequencies.set(term, (frequencies.get(term) ?? 0) + 1);
    for (const [term, count] of frequencies) {
      await transaction
        .updateTable('knowledge_terms')
        .set({ df: sql`df - ${count}` })
        .where('vector_store_id', '=', store.id)
        .where('term', '=', term)
        .execute();
    }
    await transaction.deleteFrom('knowledge_terms').where('vector_store_id', '=', store.id).where('df', '<=', 0).execute();
  },

  async documentFrequency(db, store, stems) {
    const frequencies = new Map<string, number>();
    if (stems.length === 0) return frequencies;
    const rows = await db.selectFrom('knowledge_terms').select(['term', 'df']).where('vector_store_id', '=', store.id).where('term', 'in', stems).execute();
    for (const row of rows) frequencies.set(row.term, Number(row.df));
    return frequencies;
  },

  async match(db, store, terms, limit, size) {
    if (terms.length === 0 || size.chunks === 0) return [];
    const averageLength = size.terms / size.chunks;
    const { rows } = await sql<{ chunk_id: number; file_id: string; score: number }>`
      select p.chunk_id, c.file_id, sum(q.idf * p.tf * 2.2 / (p.tf + 1.2 * (0.25 + 0.75 * c.term_count / ${averageLength}::float8))) as score
      from knowledge_postings p
      join unnest(${terms.map((term) => term.stem)}::text[], ${terms.map((term) => Math.max(term.idf, 1e-6))}::float8[]) as q(term, idf) on q.term = p.term
      join knowledge_chunks c on c.id = p.chunk_id
      where p.vector_store_id = ${store.id}
      group by p.chunk_id, c.file_id
      order by score desc, p.chunk_id
      ${limit === undefined ? sql`` : sql`limit ${limit}`}`.execute(db);
    return rows.map((row) => ({ chunkId: Number(row.chunk_id), fileId: row.file_id, score: Number(row.score) }));
  },
};
