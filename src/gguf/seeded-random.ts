/**
 * mulberry32: a tiny 32-bit PRNG. Integer arithmetic only, so a seed gives the same sequence on
 * every platform and generated files are reproducible byte for byte (Math.random has no seed).
 */

/** Returns a function yielding floats in [0, 1), determined entirely by `seed`. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}
