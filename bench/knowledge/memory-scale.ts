/**
 * The in-memory BM25 ranking (knowledge/search/memory-index.ts) at SciFact's size and 10 and 100
 * times it, in process and without the database: the corpus's abstracts plus N-1 shuffled copies
 * of each (as scifact.ts --scale makes them), tokenized as ingest does, then every development
 * claim ranked at k=50 as a search asks. Prints build time, heap used and ranking p50/p99.
 *
 *   npx tsx bench/knowledge/memory-scale.ts [--scales 1,10,100] [--data DIR]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { terms } from '../../src/knowledge/lexical/tokenize.js';
import { MemoryIndex } from '../../src/knowledge/search/memory-index.js';
import { queryTerms } from '../../src/knowledge/search/lexical-search.js';
import { percentile, report, repoRoot } from '../support.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: join(repoRoot, '..', 'shared', 'data', 'retrieval', 'scifact') },
    scales: { type: 'string', default: '1,10,100' },
  },
});
const lines = (path: string): string[] => readFileSync(join(values.data, path), 'utf8').trim().split('\n');
const documents = lines('corpus.jsonl').map((line) => JSON.parse(line) as { title: string; text: string });
const claims = lines('queries.dev.jsonl').map((line) => (JSON.parse(line) as { text: string }).text);

/** Each abstract's stems once (a shuffled copy has the same counts, so copies reuse them). */
const counted = documents.map((document) => {
  const stems = terms(`${document.title}\n${document.text}`);
  const counts: Record<string, number> = {};
  for (const stem of stems) counts[stem] = (counts[stem] ?? 0) + 1;
  return { counts, length: stems.length };
});

for (const scale of values.scales.split(',').map(Number)) {
  const started = performance.now();
  const index = new MemoryIndex();
  let id = 0;
  for (let copy = 0; copy < scale; copy += 1)
    for (const [position, document] of counted.entries()) index.add({ id: ++id, fileId: `f${position}~${copy}`, ...document });
  const built = performance.now() - started;
  const latencies: number[] = [];
  for (const claim of claims) {
    const begun = performance.now();
    const found = index.find(queryTerms(claim).keys());
    const positive = found.filter((term) => term.idf > 1e-6);
    index.rank(positive.length > 0 ? positive : found, 50);
    latencies.push(performance.now() - begun);
  }
  report(`memory index x${scale}`, {
    chunks: index.size,
    build_s: built / 1000,
    heap_mb: process.memoryUsage().heapUsed / 2 ** 20,
    array_buffers_mb: process.memoryUsage().arrayBuffers / 2 ** 20,
    rank_p50_ms: percentile(latencies, 0.5),
    rank_p99_ms: percentile(latencies, 0.99),
    load_average: loadavg()[0]!,
  });
}
