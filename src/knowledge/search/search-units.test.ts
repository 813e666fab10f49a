import { expect, test } from 'vitest';
import { matchesFilter } from './attribute-filter.js';
import { fuseRanks } from './fuse-ranks.js';

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
