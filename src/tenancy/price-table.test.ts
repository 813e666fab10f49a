import { describe, expect, test } from 'vitest';
import { costNanoUsd, freePrices, nanoUsdToUsd, quoteNanoUsd, usdToNanoUsd, type PriceTable } from './price-table.js';

const table: PriceTable = {
  models: { small: { input: 0.15, output: 0.6, cachedInput: 0.075 }, big: { input: 3, output: 15 }, '*': { input: 1, output: 2 } },
  computePerHour: { cpu: 0.36, cuda: 3.6 },
};
const tokens = (promptTokens: number, completionTokens: number, cachedTokens = 0) => ({ promptTokens, completionTokens, cachedTokens });

describe('prices', () => {
  test.each([
    ['1M input tokens of small', 'small', tokens(1_000_000, 0), 150_000_000],
    ['1M output tokens of small', 'small', tokens(0, 1_000_000), 600_000_000],
    ['one input token of small', 'small', tokens(1, 0), 150],
    ['cached prompt tokens at the cached price', 'small', tokens(1000, 0, 400), 600 * 150 + 400 * 75],
    ['cached tokens never exceed the prompt', 'small', tokens(10, 0, 50), 10 * 75],
    ['cached price defaults to input', 'big', tokens(100, 10, 100), 100 * 3000 + 10 * 15000],
    ['an unlisted model at the * price', 'other', tokens(10, 10), 10 * 1000 + 10 * 2000],
  ])('%s', (_name, model, used, nano) => {
    expect(costNanoUsd(table, model, used)).toBe(nano);
  });

  test('compute-seconds at the device class rate, added to token prices', () => {
    expect(costNanoUsd(table, 'small', tokens(0, 0), { deviceClass: 'cpu', seconds: 10 })).toBe(1_000_000);
    expect(costNanoUsd(table, 'small', tokens(0, 0), { deviceClass: 'cuda', seconds: 1 })).toBe(1_000_000);
    expect(costNanoUsd(table, 'small', tokens(1, 0), { deviceClass: 'metal', seconds: 100 })).toBe(150);
    expect(costNanoUsd({ ...table, computePerHour: { '*': 36 } }, 'x', tokens(0, 0), { deviceClass: 'metal', seconds: 0.001 })).toBe(10_000);
  });

  test('no prices: everything is free', () => {
    expect(costNanoUsd(freePrices, 'm', tokens(1e6, 1e6), { deviceClass: 'cpu', seconds: 1e4 })).toBe(0);
    expect(quoteNanoUsd(freePrices, 'm', 1e6, 1e6, 1)).toBe(0);
  });

  test('costs are whole nano-dollars, so sums over many requests are exact', () => {
    let sum = 0;
    for (let index = 1; index <= 1000; index += 1) {
      const cost = costNanoUsd(table, 'small', tokens(index, index % 7, index % 3), { deviceClass: 'cpu', seconds: index / 997 });
      expect(Number.isInteger(cost)).toBe(true);
      sum += cost;
    }
    expect(Number.isSafeInteger(sum)).toBe(true);
  });

  test('the quote bounds the cost of every request within its bounds', () => {
    for (const model of ['small', 'big', 'other']) {
      for (const [prompt, max] of [
        [1, 1],
        [100, 50],
        [5000, 4096],
      ] as const) {
        const quote = quoteNanoUsd(table, model, prompt, max, 0.05);
        for (const completion of [0, Math.floor(max / 2), max]) {
          for (const cached of [0, prompt]) {
            const seconds = (prompt + completion) * 0.05;
            expect(costNanoUsd(table, model, tokens(prompt, completion, cached), { deviceClass: 'cuda', seconds })).toBeLessThanOrEqual(quote);
          }
        }
      }
    }
  });

  test('dollars and nano-dollars convert both ways', () => {
    expect(usdToNanoUsd(1.5)).toBe(1_500_000_000);
    expect(usdToNanoUsd(0.000000001)).toBe(1);
    expect(nanoUsdToUsd(2_500_000_000)).toBe(2.5);
  });
});
