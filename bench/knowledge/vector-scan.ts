/**
 * The vector leg's exact scan (knowledge/search/store-search.ts: a dot product with every chunk's
 * unit vector, then a sort) against an HNSW index from npm (hnswlib-node, inner product), on
 * synthetic clustered unit vectors (a mixture of 200 centres plus noise, nearer real embeddings than
 * uniform noise). For each size: build time, per-query p50/p99 at k=10, and the index's recall@10
 * against the exact scan. The baseline is the exact scan in the same run.
 *
 * hnswlib-node is not a dependency of Nimbus (a native build): install it anywhere and point
 * NIMBUS_HNSWLIB at that node_modules (`npm install --prefix /tmp/ann hnswlib-node@3`,
 * NIMBUS_HNSWLIB=/tmp/ann/node_modules); without it only the exact scan is measured.
 *
 *   npx tsx bench/knowledge/vector-scan.ts [--sizes 5000,50000,200000] [--dim 384] [--queries 200]
 */
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { percentile, report } from '../support.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '5000,50000,200000' },
    dim: { type: 'string', default: '384' },
    queries: { type: 'string', default: '200' },
  },
});
const dim = Number(values.dim);
const queryCount = Number(values.queries);
const k = 10;

/** A deterministic generator (mulberry32), so runs compare. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const next = random(42);
const gaussian = (): number => Math.sqrt(-2 * Math.log(next() || 1e-12)) * Math.cos(2 * Math.PI * next());
const centres = Array.from({ length: 200 }, () => Float32Array.from({ length: dim }, gaussian));

/** A unit vector near a random centre. */
function vector(): Float32Array {
  const centre = centres[Math.floor(next() * centres.length)]!;
  const out = Float32Array.from(centre, (value) => value + 0.8 * gaussian());
  let norm = 0;
  for (const value of out) norm += value * value;
  const scale = 1 / Math.sqrt(norm);
  for (let index = 0; index < dim; index += 1) out[index]! *= scale;
  return out;
}

/** The exact scan as the search runs it: every dot product, sorted, the first k. */
function scan(chunks: readonly Float32Array[], query: Float32Array): number[] {
  const scored: Array<{ id: number; score: number }> = [];
  for (let id = 0; id < chunks.length; id += 1) {
    const chunk = chunks[id]!;
    let dot = 0;
    for (let index = 0; index < dim; index += 1) dot += chunk[index]! * query[index]!;
    scored.push({ id, score: dot });
  }
  return scored
    .sort((left, right) => right.score - left.score)
    .slice(0, k)
    .map((hit) => hit.id);
}

interface Hnsw {
  initIndex(max: number, m?: number, efConstruction?: number): void;
  addPoint(point: number[], label: number): void;
  setEf(ef: number): void;
  searchKnn(query: number[], k: number): { neighbors: number[] };
}
type HnswModule = { HierarchicalNSW: new (space: string, dim: number) => Hnsw };

function loadHnswlib(): HnswModule | undefined {
  const where = process.env.NIMBUS_HNSWLIB;
  try {
    return createRequire(join(where ?? process.cwd(), 'index.js'))('hnswlib-node') as HnswModule;
  } catch {
    console.log('hnswlib-node not found (set NIMBUS_HNSWLIB to a node_modules holding it): the exact scan only.');
    return undefined;
  }
}
const hnswlib = loadHnswlib();

for (const size of values.sizes.split(',').map(Number)) {
  const chunks = Array.from({ length: size }, vector);
  const queries = Array.from({ length: queryCount }, vector);
  const exactMs: number[] = [];
  const truth: number[][] = [];
  for (const query of queries) {
    const started = performance.now();
    truth.push(scan(chunks, query));
    exactMs.push(performance.now() - started);
  }
  report(`exact scan, ${size} x ${dim}`, {
    p50_ms: percentile(exactMs, 0.5),
    p99_ms: percentile(exactMs, 0.99),
    vectors_mb: (size * dim * 4) / 1e6,
    load: loadavg()[0]!,
  });
  if (!hnswlib) continue;
  const started = performance.now();
  const index = new hnswlib.HierarchicalNSW('ip', dim);
  index.initIndex(size, 16, 200);
  // It takes plain arrays only (a copy per vector at build; the query's copy is timed below).
  chunks.forEach((chunk, id) => index.addPoint(Array.from(chunk), id));
  const buildMs = performance.now() - started;
  for (const ef of [32, 64, 128]) {
    index.setEf(ef);
    const annMs: number[] = [];
    let found = 0;
    queries.forEach((query, at) => {
      const begun = performance.now();
      const { neighbors } = index.searchKnn(Array.from(query), k);
      annMs.push(performance.now() - begun);
      const expected = new Set(truth[at]);
      found += neighbors.filter((id) => expected.has(id)).length;
    });
    report(`hnswlib-node M 16 ef ${ef}, ${size} x ${dim}`, {
      build_s: buildMs / 1000,
      p50_ms: percentile(annMs, 0.5),
      p99_ms: percentile(annMs, 0.99),
      recall_at_10: found / (queries.length * k),
      speedup_p50: percentile(exactMs, 0.5) / percentile(annMs, 0.5),
    });
  }
}
