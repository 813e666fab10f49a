import { describe, expect, test } from 'vitest';
import { PrefixIndex } from './prefix-index.js';

describe('PrefixIndex', () => {
  test('matches the leading run each replica holds, in the order asked', () => {
    const index = new PrefixIndex(100);
    index.insert('a', ['k1', 'k2', 'k3']);
    index.insert('b', ['k1']);
    index.insert('c', ['k2', 'k3']);
    expect(index.match(['k1', 'k2', 'k3', 'k4'], ['c', 'b', 'a', 'unknown'])).toEqual([0, 1, 3, 0]);
    expect(index.match(['x'], ['a', 'b'])).toEqual([0, 0]);
    expect(index.match([], ['a'])).toEqual([0]);
  });

  test.each([
    ['router keys (base-36 numbers)', (block: number) => ((block * 2654435761 + 7) >>> 0).toString(36)],
    ['other strings', (block: number) => `key-${block}`],
  ])('long prompts (past one window of keys read at a time) match and insert whole: %s', (_name, key) => {
    const keys = Array.from({ length: 400 }, (_, block) => key(block));
    const index = new PrefixIndex(1000);
    index.insert('a', keys.slice(0, 300));
    index.insert('b', keys.slice(0, 130));
    expect(index.match(keys, ['a', 'b', 'c'])).toEqual([300, 130, 0]);
    // The last match read its keys up to just past 300: inserting more of them reads the rest again.
    index.insertMatched('c', 350);
    expect(index.match(keys, ['c', 'a'])).toEqual([350, 300]);
    // A prompt nobody holds reads one window; inserting all of it still inserts every key.
    const fresh = Array.from({ length: 300 }, (_, block) => key(10_000 + block));
    expect(index.match(fresh, ['a', 'b', 'c'])).toEqual([0, 0, 0]);
    index.insertMatched('d');
    expect(index.match(fresh, ['d'])).toEqual([300]);
    expect(index.size('d')).toBe(300);
  });

  test('a gap stops the run: a later block held does not count', () => {
    const index = new PrefixIndex(100);
    index.insert('a', ['k1', 'k3']);
    expect(index.match(['k1', 'k2', 'k3'], ['a'])).toEqual([1]);
  });

  test('past its capacity a replica forgets its least recently used keys, a prompt tail first', () => {
    const index = new PrefixIndex(4);
    index.insert('a', ['p1', 'p2', 'p3']);
    index.insert('a', ['q1', 'q2']);
    // p3 (the tail of the older prompt) went first; p1 and p2 stay.
    expect(index.size('a')).toBe(4);
    expect(index.match(['p1', 'p2', 'p3'], ['a'])).toEqual([2]);
    // Using p1 again keeps it over p2.
    index.insert('a', ['p1']);
    index.insert('a', ['r1']);
    expect(index.match(['p1'], ['a'])).toEqual([1]);
    expect(index.match(['p1', 'p2'], ['a'])).toEqual([1]);
  });

  test('capacity is per replica; shrinking it evicts at once', () => {
    const index = new PrefixIndex(10);
    index.insert('a', ['k1', 'k2', 'k3', 'k4']);
    index.insert('b', ['k1', 'k2', 'k3', 'k4']);
    index.setCapacity('a', 2);
    expect(index.capacity('a')).toBe(2);
    expect(index.capacity('b')).toBe(10);
    expect(index.match(['k1', 'k2', 'k3'], ['a', 'b'])).toEqual([2, 3]);
    expect(index.entries).toBe(6);
  });

  test('a complete report replaces the guesses and sets the capacity; a bounded one adds to them', () => {
    const index = new PrefixIndex(100);
    index.insert('a', ['g1', 'g2']);
    index.replace('a', ['r1', 'r2'], true, 1);
    expect(index.match(['g1'], ['a'])).toEqual([0]);
    expect(index.match(['r1', 'r2'], ['a'])).toEqual([2]);
    expect(index.capacity('a')).toBe(2);
    // It holds more than the three it listed: room for at least four, the oldest guess goes.
    index.replace('a', ['s1', 's2', 's3'], false);
    expect(index.capacity('a')).toBe(4);
    expect(index.match(['s1', 's2', 's3'], ['a'])).toEqual([3]);
    expect(index.match(['r1'], ['a'])).toEqual([1]);
    expect(index.match(['r2'], ['a'])).toEqual([0]);
  });

  test('forgetting a replica frees its keys and its slot for the next', () => {
    const index = new PrefixIndex(10);
    index.insert('a', ['k1']);
    index.insert('b', ['k1']);
    index.forget('a');
    expect(index.known()).toEqual(['b']);
    expect(index.match(['k1'], ['a', 'b'])).toEqual([0, 1]);
    index.insert('c', ['k2']);
    expect(index.match(['k2'], ['c', 'b'])).toEqual([1, 0]);
    index.forget('nobody');
  });

  test('a slot names its replica until forgotten, and matching by slots agrees with matching by names', () => {
    const index = new PrefixIndex(10);
    const a = index.slotOf('a');
    index.insert('b', ['k1', 'k2']);
    index.insert('a', ['k1']);
    const slots = Int32Array.from([index.slotOf('b'), a, -1]);
    const matched = new Int32Array(3);
    index.matchSlots(['k1', 'k2'], slots, 3, matched);
    expect([...matched]).toEqual(index.match(['k1', 'k2'], ['b', 'a', 'nobody']));
    expect([...matched]).toEqual([2, 1, 0]);
    index.forget('a');
    expect(index.ownerOf(a)).toBeUndefined();
    // The freed slot goes to the next replica: a caller holding it must check its owner.
    expect(index.slotOf('c')).toBe(a);
    expect(index.ownerOf(a)).toBe('c');
  });

  test('a bounded report adds what the index lacks and moves nothing it has', () => {
    const index = new PrefixIndex(3);
    index.insert('a', ['old']);
    index.insert('a', ['new']);
    // The report lists `old` (still held) and `x`; `new`, sent last, must stay ahead of `old`.
    index.replace('a', ['old', 'x'], false);
    expect(index.capacity('a')).toBe(3);
    index.insert('a', ['y']);
    expect(index.match(['old'], ['a'])).toEqual([0]);
    expect(index.match(['new'], ['a'])).toEqual([1]);
    expect(index.match(['x'], ['a'])).toEqual([1]);
  });

  test('insertMatched inserts the keys of the last match, as insert does, for base-36 keys and other strings alike', () => {
    const keys = ['1z141z3', 'Named-block', 'k', '0', 'Another one'];
    const [viaMatch, viaInsert] = [new PrefixIndex(4), new PrefixIndex(4)];
    for (const index of [viaMatch, viaInsert]) index.insert('a', ['k', 'x1', 'x2']);
    viaMatch.matchSlots(keys, Int32Array.from([viaMatch.slotOf('a')]), 1, new Int32Array(1));
    viaMatch.insertMatched('a');
    viaInsert.insert('a', keys);
    for (const index of [viaMatch, viaInsert]) {
      // Capacity 4: the five keys leave their tail out, and every older key.
      expect(index.size('a')).toBe(4);
      expect(index.match(keys, ['a'])).toEqual([4]);
      expect(index.match(['Another one'], ['a'])).toEqual([0]);
      expect(index.match(['x1'], ['a'])).toEqual([0]);
    }
  });

  test('refuses a capacity below one', () => {
    expect(() => new PrefixIndex(0)).toThrowError(/at least one block/);
  });
});

describe('PrefixIndex: a worker’s cache report', () => {
  test('a complete report evicts what the router sent and the worker no longer holds', () => {
    const index = new PrefixIndex(100);
    index.insert('a', ['sent1', 'sent2']);
    index.insert('a', ['kept']);
    index.replace('a', ['kept'], true);
    expect(index.match(['sent1'], ['a'])).toEqual([0]);
    expect(index.match(['kept'], ['a'])).toEqual([1]);
    expect(index.size('a')).toBe(1);
  });

  test('a report adds what another control plane sent (keys this router never saw)', () => {
    const index = new PrefixIndex(100);
    index.replace('a', ['other1', 'other2'], true);
    expect(index.match(['other1', 'other2', 'other3'], ['a'])).toEqual([2]);
  });

  test('an empty complete report clears the replica and only it', () => {
    const index = new PrefixIndex(100);
    index.insert('a', ['k1']);
    index.insert('b', ['k1']);
    index.replace('a', [], true);
    expect(index.size('a')).toBe(0);
    expect(index.match(['k1'], ['a', 'b'])).toEqual([0, 1]);
  });

  test('the same report twice leaves the same index', () => {
    const index = new PrefixIndex(100);
    index.replace('a', ['k1', 'k2', 'k3'], true);
    const before = [index.size('a'), index.entries, ...index.match(['k1', 'k2', 'k3'], ['a'])];
    index.replace('a', ['k1', 'k2', 'k3'], true);
    expect([index.size('a'), index.entries, ...index.match(['k1', 'k2', 'k3'], ['a'])]).toEqual(before);
  });

  test('a key reported by two replicas is held by both; one report dropping it leaves the other', () => {
    const index = new PrefixIndex(100);
    index.replace('a', ['sys'], true);
    index.replace('b', ['sys'], true);
    expect(index.match(['sys'], ['a', 'b'])).toEqual([1, 1]);
    index.replace('a', ['other'], true);
    expect(index.match(['sys'], ['a', 'b'])).toEqual([0, 1]);
  });

  test('after a complete report, what the router sends next goes in beside it, the oldest out past the capacity', () => {
    const index = new PrefixIndex(100);
    index.replace('a', ['r1', 'r2'], true, 3);
    expect(index.capacity('a')).toBe(3);
    index.insert('a', ['s1', 's2']);
    // r2 was the least recently used (a report lists most recent first).
    expect(index.match(['r1'], ['a'])).toEqual([1]);
    expect(index.match(['r2'], ['a'])).toEqual([0]);
    expect(index.match(['s1', 's2'], ['a'])).toEqual([2]);
  });

  test('a bounded report keeps older guesses behind what it lists, and takes the listed keys as newest', () => {
    const index = new PrefixIndex(3);
    index.insert('a', ['g1', 'g2', 'g3']);
    index.replace('a', ['r1', 'r2', 'r3', 'r4'], false);
    // Room for the four listed and one more: the newest guess stays.
    expect(index.capacity('a')).toBe(5);
    expect(index.match(['r1', 'r2', 'r3', 'r4'], ['a'])).toEqual([4]);
    expect(index.match(['g1'], ['a'])).toEqual([1]);
    expect(index.match(['g3'], ['a'])).toEqual([0]);
  });

  test('a report for a replica the index never saw creates it', () => {
    const index = new PrefixIndex(10);
    index.replace('new', ['k'], false);
    expect(index.known()).toEqual(['new']);
    expect(index.match(['k'], ['new'])).toEqual([1]);
  });
});
