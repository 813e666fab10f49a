import { describe, expect, test } from 'vitest';
import { cappedPlace, promote, type LoadCapInputs } from './load-cap.js';

/** Inputs for candidates given as [in flight, weight, matched] in position order. */
function inputs(candidates: ReadonlyArray<readonly [number, number, number]>): LoadCapInputs {
  return {
    inFlight: candidates.map(([inFlight]) => inFlight),
    weight: candidates.map(([, weight]) => weight),
    matched: candidates.map(([, , matched]) => matched),
  };
}

describe('cappedPlace', () => {
  // Pool of four, weight 1: with 8 in flight, the mean with this request is 9/4 = 2.25, so the cap
  // at 1.5 is 3.375: a candidate with 2 in flight (3 with this one) is within, 3 (4) is over.
  const cases: Array<{ name: string; candidates: Array<[number, number, number]>; sorted: number[]; cap: number; place: number }> = [
    {
      name: 'the first within the cap stays',
      candidates: [
        [2, 1, 0],
        [2, 1, 0],
        [2, 1, 0],
        [2, 1, 0],
      ],
      sorted: [0, 1, 2, 3],
      cap: 1.5,
      place: 0,
    },
    {
      name: 'exactly at the cap is within',
      candidates: [
        [2, 1, 0],
        [3, 1, 0],
        [3, 1, 0],
        [0, 1, 0],
      ],
      sorted: [0, 1, 2, 3],
      cap: 1.5,
      place: 0,
    },
    {
      name: 'over the cap: the best-ranked within it goes first',
      candidates: [
        [5, 1, 4],
        [4, 1, 4],
        [1, 1, 4],
        [0, 1, 4],
      ],
      sorted: [0, 1, 2, 3],
      cap: 1.5,
      place: 2,
    },
    {
      name: 'ranks, not positions, decide who replaces it',
      candidates: [
        [5, 1, 4],
        [4, 1, 4],
        [1, 1, 4],
        [0, 1, 4],
      ],
      sorted: [0, 3, 1, 2],
      cap: 1.5,
      place: 1,
    },
    {
      name: 'a prompt the first holds none of is left alone, however loaded',
      candidates: [
        [9, 1, 0],
        [0, 1, 0],
        [0, 1, 0],
      ],
      sorted: [0, 1, 2],
      cap: 1.5,
      place: 0,
    },
    {
      name: 'never for a candidate holding fewer of the prompt’s blocks',
      candidates: [
        [5, 1, 4],
        [0, 1, 3],
        [0, 1, 2],
        [1, 1, 0],
      ],
      sorted: [0, 1, 2, 3],
      cap: 1.5,
      place: 0,
    },
    {
      name: 'one holding as many (or more) blocks may',
      candidates: [
        [5, 1, 4],
        [0, 1, 3],
        [1, 1, 4],
        [0, 1, 5],
      ],
      sorted: [0, 1, 2, 3],
      cap: 1.5,
      place: 2,
    },
    {
      name: 'the same with cap 1.5 moves',
      candidates: [
        [9, 1, 1],
        [0, 1, 1],
      ],
      sorted: [0, 1],
      cap: 1.5,
      place: 1,
    },
    {
      name: 'cap 0 is off',
      candidates: [
        [9, 1, 1],
        [0, 1, 1],
      ],
      sorted: [0, 1],
      cap: 0,
      place: 0,
    },
    {
      name: 'an infinite cap is off',
      candidates: [
        [9, 1, 1],
        [0, 1, 1],
      ],
      sorted: [0, 1],
      cap: Infinity,
      place: 0,
    },
    {
      name: 'NaN is off',
      candidates: [
        [9, 1, 1],
        [0, 1, 1],
      ],
      sorted: [0, 1],
      cap: Number.NaN,
      place: 0,
    },
    { name: 'one candidate: nothing to move to', candidates: [[9, 1, 1]], sorted: [0], cap: 1.5, place: 0 },
    {
      name: 'an idle pool: everyone within',
      candidates: [
        [0, 1, 0],
        [0, 1, 0],
        [0, 1, 0],
      ],
      sorted: [2, 0, 1],
      cap: 1.5,
      place: 0,
    },
    {
      name: 'no candidate within the cap: the order stays',
      candidates: [
        [3, 1, 2],
        [3, 1, 2],
        [3, 1, 2],
      ],
      sorted: [0, 1, 2],
      cap: 1,
      place: 0,
    },
    // Weights: a GPU of weight 20 beside CPUs of weight 1; 21 in flight + 1 over 22 weight is 1 a unit, cap 1.5.
    {
      name: 'per weight: a fast replica with many in flight is within',
      candidates: [
        [20, 20, 1],
        [1, 1, 1],
        [0, 1, 1],
      ],
      sorted: [0, 1, 2],
      cap: 1.5,
      place: 0,
    },
    {
      name: 'per weight: a slow replica over its share gives way to the fast one',
      candidates: [
        [1, 1, 1],
        [20, 20, 1],
        [0, 1, 1],
      ],
      sorted: [0, 1, 2],
      cap: 1.5,
      place: 1,
    },
    {
      name: 'per weight: the slow one with nothing in flight is within even so',
      candidates: [
        [0, 1, 1],
        [21, 20, 1],
      ],
      sorted: [0, 1],
      cap: 1.5,
      place: 0,
    },
  ];
  for (const { name, candidates, sorted, cap, place } of cases) {
    test(name, () => {
      expect(cappedPlace(sorted, candidates.length, inputs(candidates), cap)).toBe(place);
    });
  }

  test('reads only the first `count` candidates', () => {
    // A fifth, huge in flight, left out of the mean: within the four the first is over.
    const all = inputs([
      [5, 1, 1],
      [0, 1, 1],
      [0, 1, 1],
      [0, 1, 1],
      [1000, 1, 1],
    ]);
    expect(cappedPlace([0, 1, 2, 3, 4], 4, all, 1.5)).toBe(1);
  });

  test('random pools: the answer is the best-ranked candidate within the cap holding as many blocks, or none', () => {
    let state = 11;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 4294967296;
    };
    let moved = 0;
    for (let round = 0; round < 5000; round += 1) {
      const count = 1 + Math.floor(next() * 12);
      const candidates = Array.from(
        { length: count },
        () => [Math.floor(next() * 10), next() < 0.2 ? 0.05 : 1, Math.floor(next() * 4)] as [number, number, number],
      );
      const sorted = Array.from({ length: count }, (_, index) => index).sort(() => next() - 0.5);
      const cap = [0, 1, 1.25, 1.5, 2][Math.floor(next() * 5)]!;
      const place = cappedPlace(sorted, count, inputs(candidates), cap);
      // Stated independently: the pool's requests per unit of weight, with this one.
      const perWeight = (candidates.reduce((sum, [inFlight]) => sum + inFlight, 0) + 1) / candidates.reduce((sum, [, weight]) => sum + weight, 0);
      const within = (position: number) => (candidates[position]![0] + 1) / candidates[position]![1] <= cap * perWeight;
      const first = sorted[0]!;
      const eligible = sorted.slice(1).findIndex((position) => within(position) && candidates[position]![2] >= candidates[first]![2]);
      const expected = cap === 0 || count < 2 || candidates[first]![2] === 0 || within(first) || eligible < 0 ? 0 : eligible + 1;
      expect(place, `round ${round}`).toBe(expected);
      if (place > 0) moved += 1;
    }
    // The property is exercised both ways.
    expect(moved).toBeGreaterThan(500);
  });
});

describe('promote', () => {
  test('moves one candidate to the front and keeps the others’ order', () => {
    const sorted = Int32Array.from([4, 2, 7, 1, 3]);
    promote(sorted, 3);
    expect([...sorted]).toEqual([1, 4, 2, 7, 3]);
    const plain = [5, 6];
    promote(plain, 1);
    expect(plain).toEqual([6, 5]);
  });
});
