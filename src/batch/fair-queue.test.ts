import { expect, test } from 'vitest';
import { FairQueue, type QueuedBatch } from './fair-queue.js';

function batch(tenantId: string, id: string, createdAt: number, items: string[]): QueuedBatch<string> {
  return { tenantId, id, createdAt, open: () => true, take: () => items.shift() };
}

test('tenants take turns; within a tenant the oldest batch goes first, in line order', () => {
  const queue = new FairQueue<string>();
  queue.add(batch('a', 'batch_2', 2, ['a2-0', 'a2-1']));
  queue.add(batch('a', 'batch_1', 1, ['a1-0', 'a1-1', 'a1-2']));
  queue.add(batch('b', 'batch_3', 3, ['b-0']));
  queue.add(batch('c', 'batch_4', 4, ['c-0', 'c-1']));
  const taken: string[] = [];
  for (let next = queue.next(); next; next = queue.next()) taken.push(next.item);
  expect(taken).toEqual(['a1-0', 'b-0', 'c-0', 'a1-1', 'c-1', 'a1-2', 'a2-0', 'a2-1']);
});

test('a batch that is ending gives no lines, and a removed tenant leaves the turn order intact', () => {
  const queue = new FairQueue<string>();
  const closing = { ...batch('a', 'batch_1', 1, ['a-0']), open: () => false };
  queue.add(closing);
  const b = batch('b', 'batch_2', 2, ['b-0', 'b-1']);
  queue.add(b);
  expect(queue.next()?.item).toBe('b-0');
  queue.remove(closing);
  expect(queue.next()?.item).toBe('b-1');
  expect(queue.next()).toBeUndefined();
});
