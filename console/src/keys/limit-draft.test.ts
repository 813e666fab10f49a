import { describe, expect, it } from 'vitest';
import { describeLimits, draftOf, limitChanges, limitsOf } from './limit-draft.js';

describe('limit drafts', () => {
  it('a new record gets the filled-in limits only', () => {
    expect(limitsOf({ requests_per_minute: ' 60 ', tokens_per_day: '', concurrent_requests: '2' })).toEqual({
      requests_per_minute: 60,
      concurrent_requests: 2,
    });
  });

  it('an edit sends what changed, and null for a limit or budget emptied', () => {
    const current = { requests_per_minute: 60, tokens_per_day: 1000, cost_per_day_usd: 5 };
    const draft = draftOf(current);
    expect(draft).toEqual({ requests_per_minute: '60', tokens_per_day: '1000', cost_per_day_usd: '5' });
    expect(limitChanges(current, draft)).toEqual({});
    expect(
      limitChanges(current, {
        ...draft,
        requests_per_minute: '120',
        tokens_per_day: '',
        cost_per_day_usd: '',
        concurrent_requests: '3',
        tokens_per_month: '9000',
      }),
    ).toEqual({
      requests_per_minute: 120,
      tokens_per_day: null,
      cost_per_day_usd: null,
      concurrent_requests: 3,
      tokens_per_month: 9000,
    });
  });

  it('the page edits every limit and budget the API has', () => {
    const all = {
      requests_per_minute: 1,
      tokens_per_minute: 2,
      concurrent_requests: 3,
      tokens_per_day: 4,
      tokens_per_month: 5,
      cost_per_day_usd: 6,
      cost_per_month_usd: 7,
    };
    expect(limitsOf(draftOf(all))).toEqual(all);
  });

  it('describes limits in words', () => {
    expect(describeLimits({ requests_per_minute: 5, tokens_per_day: 100 })).toBe('requests per minute 5, tokens per day 100');
    expect(describeLimits({})).toBe('no limits');
  });
});
