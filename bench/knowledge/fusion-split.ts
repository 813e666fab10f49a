/**
 * Choosing hybrid weights without reading them off the claims they are judged on: SciFact's 809
 * judged development claims are split into a tuning part (claims 301-809) and a test part (claims
 * 1-300, the ones test/hybrid-fusion.test.ts measures). Every ranking in the grid is scored on the
 * tuning part; the best hybrid one (highest nDCG@10 there) is then scored once on the test part,
 * beside both legs alone and the default. In process with the hashed TF-IDF embedder
 * (test/support/scifact-fusion.ts); quality does not depend on the machine's load.
 *
 *   npx tsx bench/knowledge/fusion-split.ts
 */
import type { Fusion } from '../../src/knowledge/search/store-search.js';
import { openFusionBench, scifactFolder, scifactPresent, type Ranking } from '../../test/support/scifact-fusion.js';

if (!scifactPresent()) {
  console.error(`SciFact is not at ${scifactFolder}: set NIMBUS_SCIFACT to its folder.`);
  process.exit(1);
}
const bench = await openFusionBench();
const test = bench.claims.slice(0, 300);
const tune = bench.claims.slice(300);
const name = (ranking: Ranking) => `${ranking.fusion ?? 'rrf'} ${ranking.embeddingWeight}/${ranking.textWeight}`;

const grid: Ranking[] = [];
for (const fusion of ['rrf', 'scores'] as Fusion[])
  for (const embeddingWeight of [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1]) grid.push({ fusion, embeddingWeight, textWeight: 1 });

const lexicalTune = await bench.ndcg(tune, { embeddingWeight: 0, textWeight: 1 });
const vectorTune = await bench.ndcg(tune, { embeddingWeight: 1, textWeight: 0 });
console.log(`tuning part (${tune.length} claims): lexical ${lexicalTune.toFixed(4)}, vector ${vectorTune.toFixed(4)}`);
let best: { ranking: Ranking; score: number } | undefined;
for (const ranking of grid) {
  const score = await bench.ndcg(tune, ranking);
  console.log(`  ${name(ranking).padEnd(14)} ${score.toFixed(4)} (better leg ${(score - Math.max(lexicalTune, vectorTune)).toFixed(4)})`);
  if (!best || score > best.score) best = { ranking, score };
}
const chosen = best!.ranking;
const lexical = await bench.ndcg(test, { embeddingWeight: 0, textWeight: 1 });
const vector = await bench.ndcg(test, { embeddingWeight: 1, textWeight: 0 });
const defaults = await bench.ndcg(test, { embeddingWeight: 1, textWeight: 1 });
const held = await bench.ndcg(test, chosen);
console.log(`test part (${test.length} claims): lexical ${lexical.toFixed(4)}, vector ${vector.toFixed(4)}, default (rrf 1/1) ${defaults.toFixed(4)}`);
console.log(
  `chosen on the tuning part: ${name(chosen)}; on the test part ${held.toFixed(4)}, better leg minus 0.01 = ${(Math.max(lexical, vector) - 0.01).toFixed(4)}: ${held >= Math.max(lexical, vector) - 0.01 ? 'met' : 'not met'}`,
);
await bench.close();
