import { expect, test } from 'vitest';
import { matchesFilter } from './attribute-filter.js';
import { fuseRanks } from './fuse-ranks.js';
import { fuseScores } from './fuse-scores.js';

test('comparison filters, missing attributes, and compound filters', () => {
  const attributes = { year: 2020, kind: 'paper', open: true };
  expect(matchesFilter({ type: 'eq', key: 'kind', value: 'paper' }, attributes)).toBe(true);
  expect(matchesFilter({ type: 'eq', key: 'kind', value: 'book' }, attributes)).toBe(false);
  expect(matchesFilter({ type: 'ne', key: 'missing', value: 1 }, attributes)).toBe(true);
  expect(matchesFilter({ type: 'gte', key: 'year', value: 2020 }, attributes)).toBe(true);
  expect(matchesFilter({ type: 'gt', key: 'year', value: 2020 }, attributes)).toBe(false);
  expect(matchesFilter({ type: 'lt', key: 'year', value: '2021' }, attributes)).toBe(false);
  expect(matchesFilter({ type: 'in', key: 'kind', value: ['paper', 'book'] }, attributes)).toBe(true);
  expect(matchesFilter({ type: 'nin', key: 'kind', value: ['paper'] }, attributes)).toBe(false);
  expect(
    matchesFilter(
      {
        type: 'and',
        filters: [
          { type: 'eq', key: 'open', value: true },
          {
            type: 'or',
            filters: [
              { type: 'lt', key: 'year', value: 2000 },
              { type: 'eq', key: 'kind', value: 'paper' },
            ],
          },
        ],
      },
      attributes,
    ),
  ).toBe(true);
});

test('weighted RRF: weights move the order, the top score is 1 when first in both, a zero weight ignores a list', () => {
  expect(
    fuseRanks([
      { ids: ['a', 'b'], weight: 1 },
      { ids: ['a', 'c'], weight: 1 },
    ])[0],
  ).toEqual({ id: 'a', score: 1 });
  const textHeavy = fuseRanks([
    { ids: ['t1', 't2'], weight: 0.9 },
    { ids: ['e1', 'e2'], weight: 0.1 },
  ]).map((hit) => hit.id);
  const embeddingHeavy = fuseRanks([
    { ids: ['t1', 't2'], weight: 0.1 },
    { ids: ['e1', 'e2'], weight: 0.9 },
  ]).map((hit) => hit.id);
  expect(textHeavy[0]).toBe('t1');
  expect(embeddingHeavy[0]).toBe('e1');
  expect(
    fuseRanks([
      { ids: ['t1'], weight: 1 },
      { ids: ['e1'], weight: 0 },
    ]).map((hit) => hit.id),
  ).toEqual(['t1']);
});

test('normalised-score fusion: each leg min-max scaled, weighted, in [0, 1]; a far-ahead first place keeps its lead', () => {
  const fused = fuseScores([
    {
      hits: [
        { id: 't1', score: 20 },
        { id: 't2', score: 5 },
        { id: 't3', score: 4 },
      ],
      weight: 1,
    },
    {
      hits: [
        { id: 't2', score: 0.52 },
        { id: 't1', score: 0.51 },
        { id: 'e3', score: 0.1 },
      ],
      weight: 1,
    },
  ]);
  // t1 far ahead lexically and a close second by vector stays first; each leg's last place counts 0.
  expect(fused.map((hit) => hit.id).slice(0, 2)).toEqual(['t1', 't2']);
  expect(fused[0]!.score).toBeCloseTo((1 + 0.41 / 0.42) / 2, 9);
  expect(fused.slice(2).map((hit) => hit.score)).toEqual([0, 0]);
  expect(
    fuseScores([
      { hits: [{ id: 'only', score: 3 }], weight: 1 },
      { hits: [], weight: 1 },
    ]),
  ).toEqual([{ id: 'only', score: 0.5 }]);
  expect(fuseScores([{ hits: [{ id: 'a', score: 3 }], weight: 0 }])).toEqual([]);
});
