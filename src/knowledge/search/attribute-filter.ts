/**
 * OpenAI's attribute filters for vector store search: a comparison (`eq`, `ne`, `gt`, `gte`,
 * `lt`, `lte`, `in`, `nin`) of one attribute with a value, or `and` / `or` over filters. A file
 * without the attribute matches only `ne` and `nin`; an order comparison of a string with a
 * number matches nothing.
 */
import type { AttributeValue } from '../../core/vector-store-store.js';

export type ComparisonFilter = {
  type: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'nin';
  key: string;
  value: AttributeValue | AttributeValue[];
};
export type CompoundFilter = { type: 'and' | 'or'; filters: AttributeFilter[] };
export type AttributeFilter = ComparisonFilter | CompoundFilter;

function ordered(left: AttributeValue, right: AttributeValue, test: (order: number) => boolean): boolean {
  if (typeof left !== typeof right || typeof left === 'boolean') return false;
  return test(left < right ? -1 : left > right ? 1 : 0);
}

/** Whether a file's attributes pass the filter. */
export function matchesFilter(filter: AttributeFilter, attributes: Readonly<Record<string, AttributeValue>>): boolean {
  switch (filter.type) {
    case 'and':
      return filter.filters.every((inner) => matchesFilter(inner, attributes));
    case 'or':
      return filter.filters.some((inner) => matchesFilter(inner, attributes));
    default:
      break;
  }
  const actual = attributes[filter.key];
  const expected = filter.value;
  const list = Array.isArray(expected) ? expected : [expected];
  switch (filter.type) {
    case 'eq':
      return actual !== undefined && !Array.isArray(expected) && actual === expected;
    case 'ne':
      return actual === undefined || Array.isArray(expected) || actual !== expected;
    case 'in':
      return actual !== undefined && list.includes(actual);
    case 'nin':
      return actual === undefined || !list.includes(actual);
    case 'gt':
      return actual !== undefined && !Array.isArray(expected) && ordered(actual, expected, (order) => order > 0);
    case 'gte':
      return actual !== undefined && !Array.isArray(expected) && ordered(actual, expected, (order) => order >= 0);
    case 'lt':
      return actual !== undefined && !Array.isArray(expected) && ordered(actual, expected, (order) => order < 0);
    case 'lte':
      return actual !== undefined && !Array.isArray(expected) && ordered(actual, expected, (order) => order <= 0);
    default:
      return false;
  }
}
