import { describe, expect, test } from 'vitest';
import { RoundRobinRouter } from '../../core/replica-router.js';
import { EstimatedTtftRouter } from './estimated-ttft-router.js';
import { modelRouting } from './model-routing.js';
import { PrefixCacheRouter } from './prefix-cache-router.js';
import { SessionAffinityRouter } from './session-affinity-router.js';

const chat = (content: string, user?: string) => ({ model: 'm', messages: [{ role: 'user' as const, content }], ...(user ? { user } : {}) }) as never;

describe('modelRouting', () => {
  test('each model gets its own router of its policy; unnamed ones get the fallback', () => {
    const routing = modelRouting({
      models: [{ id: 'a', routing: 'prefix-cache' }, { id: 'a', routing: 'prefix-cache' }, { id: 'b' }, { id: 'c', routing: 'session-affinity' }],
      prefixBlockChars: 64,
      fallback: 'round-robin',
    });
    expect(routing.routerFor('a')).toBeInstanceOf(PrefixCacheRouter);
    expect(routing.routerFor('b')).toBeInstanceOf(RoundRobinRouter);
    expect(routing.routerFor('c')).toBeInstanceOf(SessionAffinityRouter);
    expect(routing.routerFor('a')).not.toBe(routing.routerFor('a'));
  });

  test('routing keys use the configured block size and carry the user as the session', () => {
    const routing = modelRouting({ models: [{ id: 'a', routing: 'prefix-cache' }], prefixBlockChars: 64, fallback: 'round-robin' });
    const long = routing.routingKeys(chat('x'.repeat(300), 'alice'));
    // Every whole 64-character block of the prompt as the router sees it (roles and text).
    expect(long.prefixKeys).toHaveLength(Math.floor(long.promptChars! / 64));
    expect(long.prefixKeys!.length).toBeGreaterThanOrEqual(4);
    expect(long.sessionKey).toBe('alice');
    const shared = routing.routingKeys(chat(`${'x'.repeat(300)} and more`));
    expect(shared.prefixKeys!.slice(0, 3)).toEqual(long.prefixKeys!.slice(0, 3));
  });

  test('a model on providers that cache prefixes routes by estimated-ttft unless it names a policy; one plain provider keeps round-robin', () => {
    const routing = modelRouting({
      models: [
        { id: 'cached', cachesPrefixes: true },
        { id: 'cached', cachesPrefixes: true },
        { id: 'mixed', cachesPrefixes: true },
        { id: 'mixed' },
        { id: 'chosen', cachesPrefixes: true, routing: 'prefix-cache' },
        { id: 'cloud' },
      ],
      prefixBlockChars: 64,
      fallback: 'round-robin',
    });
    expect(routing.routerFor('cached')).toBeInstanceOf(EstimatedTtftRouter);
    expect(routing.routerFor('mixed')).toBeInstanceOf(RoundRobinRouter);
    expect(routing.routerFor('chosen')).toBeInstanceOf(PrefixCacheRouter);
    expect(routing.routerFor('cloud')).toBeInstanceOf(RoundRobinRouter);
    expect(routing.routingKeys(chat('x'.repeat(300))).prefixKeys!.length).toBeGreaterThan(0);
  });

  test('no policy that reads keys: no hashing at all', () => {
    const routing = modelRouting({ models: [{ id: 'a', routing: 'least-outstanding-tokens' }], prefixBlockChars: 64, fallback: 'round-robin' });
    expect(routing.routingKeys(chat('x'.repeat(300), 'alice'))).toEqual({});
  });
});
