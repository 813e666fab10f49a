/**
 * Prices: per model, per million input and output tokens; for models computed on the pool, per
 * hour of compute on each device class. Costs are integers in billionths of a dollar (nano-USD),
 * so a budget's counter and the ledger's sum of costs agree exactly.
 */

/** What one model costs, in US dollars per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  /** Prompt tokens served from the prefix cache; `input` when absent. */
  cachedInput?: number;
}

/** Every rate the cost of a request depends on. */
export interface PriceTable {
  /** By model name (after aliases); `*` prices every model not listed. */
  models: Readonly<Record<string, ModelPrice>>;
  /** US dollars per hour a request holds a device of this class (`cpu`, `cuda`, `nvidia-h100`); `*` for the rest. */
  computePerHour: Readonly<Record<string, number>>;
}

/** No prices: everything costs 0 (tokens and compute-seconds are still counted). */
export const freePrices: PriceTable = { models: {}, computePerHour: {} };

/** Tokens a request used, as the ledger counts them. */
export interface TokenCounts {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
}

/** Where a request was computed and for how long. */
export interface ComputeTime {
  deviceClass: string;
  seconds: number;
}

/** nano-USD per token at `usdPerMillion` US dollars per million tokens. */
const perToken = (usdPerMillion: number): number => usdPerMillion * 1000;
/** nano-USD per second at `usdPerHour`. */
const perSecond = (usdPerHour: number): number => (usdPerHour * 1e9) / 3600;

function priceOf(table: PriceTable, model: string): ModelPrice | undefined {
  return table.models[model] ?? table.models['*'];
}

/** What a request cost, in nano-USD: its tokens at the model's prices plus its compute time, times `factor` (a discount). */
export function costNanoUsd(table: PriceTable, model: string, tokens: TokenCounts, compute?: ComputeTime, factor = 1): number {
  const price = priceOf(table, model);
  let cost = 0;
  if (price) {
    const cached = Math.min(tokens.cachedTokens, tokens.promptTokens);
    cost += (tokens.promptTokens - cached) * perToken(price.input);
    cost += cached * perToken(price.cachedInput ?? price.input);
    cost += tokens.completionTokens * perToken(price.output);
  }
  if (compute && compute.seconds > 0) {
    const rate = table.computePerHour[compute.deviceClass] ?? table.computePerHour['*'] ?? 0;
    cost += compute.seconds * perSecond(rate);
  }
  return Math.round(cost * factor);
}

/**
 * The most a request may cost, in nano-USD: every prompt token at the dearer input price, every
 * allowed output token, and, where compute is priced, `secondsPerToken` per token at the dearest
 * device class. Admission reserves this quote against cost budgets.
 */
export function quoteNanoUsd(table: PriceTable, model: string, promptTokens: number, maxTokens: number, secondsPerToken: number, factor = 1): number {
  const price = priceOf(table, model);
  let cost = 0;
  if (price) cost += promptTokens * perToken(Math.max(price.input, price.cachedInput ?? 0)) + maxTokens * perToken(price.output);
  const rates = Object.values(table.computePerHour);
  if (rates.length > 0) cost += (promptTokens + maxTokens) * secondsPerToken * perSecond(Math.max(...rates));
  return Math.ceil(cost * factor);
}

/** nano-USD as US dollars, for APIs and CSV. */
export function nanoUsdToUsd(nano: number): number {
  return nano / 1e9;
}

/** US dollars as nano-USD (limits are written in dollars). */
export function usdToNanoUsd(usd: number): number {
  return Math.round(usd * 1e9);
}
