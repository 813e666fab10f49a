import { describe, expect, test } from 'vitest';
import { ReplicaRoom, cacheRoomBlocks, minCacheKeys, privateBlocks } from './cache-room.js';

describe('privateBlocks', () => {
  test.each([
    // [case, prompt tokens, output tokens, keys indexed, tokens per block, expected blocks]
    ['a prompt all under its keys holds only its output', 2048, 512, 4, 512, 1],
    ['a partial last block counts whole', 2049, 0, 4, 512, 1],
    ['a prompt longer than its keys holds the rest', 40_160, 6, 64, 512, 15 + 1],
    ['a prompt not yet computed, none of it indexed, holds all of it', 5000, 300, 0, 512, 10 + 1],
    ['only the keys it matched indexed: the rest of its prompt is held', 5000, 0, 3, 512, 7],
    ['more keys than blocks hold nothing of the prompt', 1000, 0, 10, 512, 0],
    ['no output: nothing for it', 512, 0, 1, 512, 0],
    ['one output token takes a block', 512, 1, 1, 512, 1],
    ['output of several blocks', 512, 1025, 1, 512, 3],
    ['negative counts count as none', -5, -5, -5, 512, 0],
    ['smaller blocks, more of them', 1000, 100, 2, 100, 8 + 1],
    ['no block size: nothing can be said', 1000, 100, 0, 0, 0],
  ])('%s', (_name, prompt, output, keys, tokensPerBlock, expected) => {
    expect(privateBlocks(prompt, output, keys, tokensPerBlock)).toBe(expected);
  });
});

describe('cacheRoomBlocks', () => {
  test.each([
    // [case, KV blocks, held in flight, floor, expected keys]
    ['an idle replica caches in all its memory', 640, 0, 16, 640],
    ['requests in flight take their share', 640, 500, 16, 140],
    ['a fraction of a block is not room', 640.9, 0.5, 16, 640],
    ['never below the floor, however full', 640, 700, 16, 16],
    ['a floor of one', 10, 10, 1, 1],
    ['negative held counts as none', 100, -20, 16, 100],
    ['unbounded memory is unbounded room', Infinity, 0, 16, Infinity],
    ['an unknown size keeps the floor', NaN, 0, 16, 16],
    ['the default floor', 8, 0, undefined, minCacheKeys],
  ])('%s', (_name, kv, held, floor, expected) => {
    expect(cacheRoomBlocks(kv, held, floor)).toBe(expected);
  });
});

describe('ReplicaRoom', () => {
  test('told its KV size, the room is that size in blocks less what runs there', () => {
    const room = new ReplicaRoom(8192);
    room.kvTokens = 640 * 512;
    expect(room.told).toBe(true);
    expect(room.keys(512)).toBe(640);
    room.heldBlocks = 200;
    expect(room.keys(512)).toBe(440);
    // A model whose keys cover 256 tokens has twice the blocks in the same memory.
    expect(room.keys(256)).toBe(1080);
  });

  test('not told, the learned size stands in for it', () => {
    const room = new ReplicaRoom(100);
    expect(room.told).toBe(false);
    expect(room.keys(512)).toBe(100);
    room.heldBlocks = 30;
    expect(room.keys(512)).toBe(70);
    room.kvTokens = 0;
    expect(room.told).toBe(false);
  });

  test.each([
    // [case, learned, held, missed, index size, index full, changed, learned after]
    ['a miss shrinks it to 80% of what the index held and what runs there', 1000, 100, true, 500, false, true, 480],
    ['a miss never goes under the minimum', 1000, 0, true, 5, false, true, minCacheKeys],
    ['a full index that kept its promise grows 2% and one', 100, 20, false, 80, true, true, 103],
    ['a kept promise with room to spare changes nothing', 100, 0, false, 40, false, false, 100],
  ])('%s', (_name, learned, held, missed, size, full, changed, after) => {
    const room = new ReplicaRoom(learned);
    room.heldBlocks = held;
    expect(room.learn(missed, size, full)).toBe(changed);
    expect(room.learnedBlocks).toBeCloseTo(after, 6);
  });

  test('told its KV size, answers teach it nothing', () => {
    const room = new ReplicaRoom(1000);
    room.kvTokens = 51_200;
    expect(room.learn(true, 10, false)).toBe(false);
    expect(room.learnedBlocks).toBe(1000);
    expect(room.keys(512)).toBe(100);
  });
});
