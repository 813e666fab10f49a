/**
 * SciFact in process with an embedder whose vectors carry information: what the fusion test
 * (test/hybrid-fusion.test.ts) and the fusion bench (bench/knowledge/fusion-split.ts) share. The
 * scripted embedder is hashed TF-IDF of stems in 4096 dimensions with the corpus's idf, standing
 * in for a real embedding model (none with meaning runs on these machines). The data is read from
 * ../shared (BEIR SciFact, non-commercial licence: never copied into the repo).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { systemClock } from '../../src/core/clock.js';
import { localPrincipal } from '../../src/core/principal.js';
import type { ChunkEmbedder } from '../../src/knowledge/chunk-embedder.js';
import { FileBlobs } from '../../src/knowledge/file-blobs.js';
import { KnowledgeFiles } from '../../src/knowledge/knowledge-files.js';
import { terms } from '../../src/knowledge/lexical/tokenize.js';
import { defaultFusion, StoreSearch, type Fusion } from '../../src/knowledge/search/store-search.js';
import { VectorStores } from '../../src/knowledge/vector-stores.js';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite-store.js';
import { repoRoot } from './shared-model.js';

/** The SciFact folder: NIMBUS_SCIFACT, else ../shared/data/retrieval/scifact. */
export const scifactFolder = process.env.NIMBUS_SCIFACT ?? resolve(repoRoot, '..', 'shared', 'data', 'retrieval', 'scifact');
export const scifactPresent = (): boolean => existsSync(join(scifactFolder, 'corpus.jsonl'));

/** A judged development claim. */
export interface Claim {
  id: string;
  text: string;
  relevant: ReadonlySet<string>;
}

/** A fused (or single-leg) ranking: the weights of OpenAI's `hybrid_search` and the fusion. */
export interface Ranking {
  embeddingWeight: number;
  textWeight: number;
  fusion?: Fusion;
}

export interface FusionBench {
  /** Every judged development claim, in the file's order (809). */
  claims: Claim[];
  /** Mean nDCG@10 per document over the claims given. */
  ndcg(claims: readonly Claim[], ranking: Ranking): Promise<number>;
  close(): Promise<void>;
}

const dimensions = 4096;
/** FNV-1a of a stem, to a dimension and a sign. */
function slot(stem: string): [number, number] {
  let hash = 2_166_136_261;
  for (let index = 0; index < stem.length; index += 1) hash = Math.imul(hash ^ stem.charCodeAt(index), 16_777_619);
  return [(hash >>> 1) % dimensions, hash & 1 ? 1 : -1];
}

/** Ingests the corpus (one file per abstract, its id as the attribute doc_id) into a fresh SQLite home. */
export async function openFusionBench(): Promise<FusionBench> {
  const lines = (path: string) => readFileSync(join(scifactFolder, path), 'utf8').trim().split('\n');
  const documents = lines('corpus.jsonl').map((line) => JSON.parse(line) as { _id: string; title: string; text: string });
  const judged = new Map<string, Set<string>>();
  for (const line of lines('qrels/dev.tsv').slice(1)) {
    const [query, document] = line.split('\t') as [string, string];
    (judged.get(query) ?? judged.set(query, new Set()).get(query)!).add(document);
  }
  const claims = lines('queries.dev.jsonl')
    .map((line) => JSON.parse(line) as { _id: string; text: string })
    .filter((query) => judged.has(query._id))
    .map((query) => ({ id: query._id, text: query.text, relevant: judged.get(query._id)! }));

  const documentFrequency = new Map<string, number>();
  for (const document of documents)
    for (const stem of new Set(terms(`${document.title}\n${document.text}`))) documentFrequency.set(stem, (documentFrequency.get(stem) ?? 0) + 1);
  const embedder: ChunkEmbedder = {
    model: 'hashed-tf',
    authorize: () => undefined,
    embed: async (texts) =>
      texts.map((text) => {
        const counts = new Map<string, number>();
        for (const stem of terms(text)) counts.set(stem, (counts.get(stem) ?? 0) + 1);
        const vector = new Float32Array(dimensions);
        for (const [stem, count] of counts) {
          const [at, sign] = slot(stem);
          const idf = Math.log((documents.length + 1) / ((documentFrequency.get(stem) ?? 0) + 1));
          vector[at]! += sign * (1 + Math.log(count)) * idf;
        }
        let norm = 0;
        for (const value of vector) norm += value * value;
        return vector.map((value) => value / Math.sqrt(norm || 1));
      }),
  };

  const home = mkdtempSync(join(tmpdir(), 'nimbus-fusion-'));
  const store = await openSqliteStore(join(home, 'nimbus.db'));
  const files = new KnowledgeFiles(store.knowledge, new FileBlobs(join(home, 'files')), { maxFileBytes: 1e9, tenantStorageBytes: 1e12 }, systemClock);
  const stores = new VectorStores({ store: store.knowledge, files, clock: systemClock, embedder, onError: (error) => console.error(error) });
  const search = new StoreSearch(store.knowledge, stores);
  const vectorStore = await stores.create(localPrincipal, { name: 'scifact' });
  const adds = [];
  for (const document of documents) {
    const blob = await files.receive(Readable.from([Buffer.from(`${document.title}\n${document.text}`)]));
    const file = await files.register({ tenantId: localPrincipal.tenantId, filename: `${document._id}.txt`, purpose: 'assistants' }, blob);
    adds.push({ fileId: file.id, attributes: { doc_id: document._id } });
  }
  await stores.createBatch(localPrincipal, vectorStore.id, adds);
  await stores.ingest.drained();

  return {
    claims,
    async ndcg(subset, ranking) {
      let total = 0;
      for (const claim of subset) {
        // Searches here are synchronous work on this thread: yield between them, so a test runner's
        // messages (vitest's worker RPC) are not starved for minutes.
        await new Promise((resolve) => setImmediate(resolve));
        const hits = await search.search(localPrincipal, vectorStore.id, {
          queries: [claim.text],
          maxResults: 10,
          scoreThreshold: 0,
          embeddingWeight: ranking.embeddingWeight,
          textWeight: ranking.textWeight,
          fusion: ranking.fusion ?? defaultFusion,
        });
        let dcg = 0;
        [...new Set(hits.map((hit) => String(hit.attributes.doc_id)))]
          .slice(0, 10)
          .forEach((id, rank) => (dcg += claim.relevant.has(id) ? 1 / Math.log2(rank + 2) : 0));
        let ideal = 0;
        for (let rank = 0; rank < Math.min(claim.relevant.size, 10); rank += 1) ideal += 1 / Math.log2(rank + 2);
        total += dcg / ideal;
      }
      return total / subset.length;
    },
    async close() {
      await store.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
