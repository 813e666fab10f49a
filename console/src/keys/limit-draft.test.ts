import { describe, expect, it } from 'vitest';
import { describeLimits, draftOf, limitChanges, limitsOf } from './limit-draft.js';

describe('limit drafts', () => {
  it('a new record gets the filled-in limits only', () => {
    expect(limitsOf({ requests_per_minute: ' 60 ', tokens_per_day: '', concurrent_requests: '2' })).toEqual({
      requests_per_minute: 60,
      concurrent_requests: 2,
    });
  });

  it('an edit sends what changed, and null for a limit emptied; limits the page does not show stay', () => {
    const current = { requests_per_minute: 60, tokens_per_day: 1000, cost_per_day_usd: 5 };
    const draft = draftOf(current);
    expect(draft).toEqual({ requests_per_minute: '60', tokens_per_day: '1000' });
    expect(limitChanges(current, draft)).toEqual({});
    expect(limitChanges(current, { ...draft, requests_per_minute: '120', tokens_per_day: '', concurrent_requests: '3' })).toEqual({
      requests_per_minute: 120,
      tokens_per_day: null,
      concurrent_requests: 3,
    });
  });

  it('describes limits in words', () => {
    expect(describeLimits({ requests_per_minute: 5, tokens_per_day: 100 })).toBe('requests per minute 5, tokens per day 100');
    expect(describeLimits({})).toBe('no limits');
  });
});
