import { expect, test } from 'vitest';
import type { RequestEvent } from '../api/types.js';
import { mayMatch, noFilters, requestQuery } from './request-query.js';

test('filters become the query: times as UTC seconds, a key prefix or an id from the search box, the cursor last', () => {
  expect(requestQuery({ ...noFilters, tenant: 'acme', status: 'error', from: '2026-12-07T10:00' }, 50)).toBe(
    'tenant=acme&status=error&from=1796637600&limit=50',
  );
  expect(requestQuery({ ...noFilters, search: 'nmb_AbCd1234' }, 20, 'abc')).toBe('key_prefix=nmb_AbCd1234&limit=20&after=abc');
  expect(requestQuery({ ...noFilters, search: ' chatcmpl-1 ' }, 20)).toBe('id=chatcmpl-1&limit=20');
});

test('a live request joins the tail only where it can match the filters', () => {
  const event = { id: 'r', at: 1, tenant: 'acme', key: 'key_1', model: 'm', status: 'ok', app_id: null } as unknown as RequestEvent;
  expect(mayMatch(event, noFilters)).toBe(true);
  expect(mayMatch(event, { ...noFilters, tenant: 'beta' })).toBe(false);
  expect(mayMatch(event, { ...noFilters, status: 'ok', model: 'm' })).toBe(true);
  expect(mayMatch(event, { ...noFilters, to: '2026-01-01T00:00' })).toBe(false);
});
