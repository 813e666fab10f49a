/**
 * Fusion quality with an embedding engine whose vectors carry information: a scripted embedder
 * (hashed TF-IDF of stems, 4096 dimensions, idf from the corpus; test/support/scifact-fusion.ts)
 * stands in for a real model, on SciFact's first 300 judged claims (../shared, non-commercial:
 * read there, never copied). Issue 21 asks hybrid >= the better leg minus 0.01. The weighting held
 * to that bar (normalised scores, embedding 0.3 / text 1) was chosen by
 * bench/knowledge/fusion-split.ts on the other claims (301-809) and never on these, so this is a
 * held-out check; measured on 2026-12-07: lexical 0.6863, vector 0.5768, the chosen weighting
 * 0.6838 (bar 0.6763), the default (RRF 1/1) 0.6697. The default is also held to the weaker guard
 * below (fusion well above the vector leg and within 0.03 of lexical).
 * It takes minutes, so it runs only with NIMBUS_SCIFACT set to the data folder.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openFusionBench, scifactPresent, type FusionBench } from './support/scifact-fusion.js';

const skip = process.env.NIMBUS_SCIFACT === undefined || !scifactPresent();
let bench: FusionBench | undefined;
beforeAll(async () => {
  if (!skip) bench = await openFusionBench();
}, 1_200_000);
afterAll(async () => bench?.close());

test.skipIf(skip)(
  'on claims 1-300, hybrid with the weighting chosen on claims 301-809 is at least the better leg minus 0.01, and the default lifts the vector leg to within 0.03 of lexical (nDCG@10)',
  async () => {
    const claims = bench!.claims.slice(0, 300);
    const lexical = await bench!.ndcg(claims, { embeddingWeight: 0, textWeight: 1 });
    const vector = await bench!.ndcg(claims, { embeddingWeight: 1, textWeight: 0 });
    const chosen = await bench!.ndcg(claims, { embeddingWeight: 0.3, textWeight: 1, fusion: 'scores' });
    const byDefault = await bench!.ndcg(claims, { embeddingWeight: 1, textWeight: 1 });
    console.log(
      `nDCG@10 on ${claims.length} claims: lexical ${lexical.toFixed(4)}, vector ${vector.toFixed(4)}, hybrid (scores, 0.3/1) ${chosen.toFixed(4)}, hybrid (default rrf, 1/1) ${byDefault.toFixed(4)}`,
    );
    expect(vector).toBeGreaterThan(0.5);
    expect(chosen).toBeGreaterThanOrEqual(Math.max(lexical, vector) - 0.01);
    expect(byDefault).toBeGreaterThan(vector + 0.05);
    expect(byDefault).toBeGreaterThanOrEqual(lexical - 0.03);
  },
  1_200_000,
);
