import { afterEach, expect, test, vi } from 'vitest';
import { commandArgs } from './command-args.js';

afterEach(() => vi.restoreAllMocks());

const options = { json: { type: 'boolean' }, limit: { type: 'string' }, tag: { type: 'string', multiple: true } } as const;

test('options and positionals are parsed; -h and --help print the usage and exit 0', () => {
  const parsed = commandArgs(['ls', '--json', '--limit', '5', '--tag', 'a', '--tag', 'b', 'x'], options, 'USAGE', () => 2);
  expect(parsed).toMatchObject({ values: { json: true, limit: '5', tag: ['a', 'b'] }, positionals: ['ls', 'x'] });
  const printed = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  expect(commandArgs(['ls', '--help'], options, 'USAGE', () => 2)).toBe(0);
  expect(commandArgs(['-h'], options, 'USAGE', () => 2)).toBe(0);
  expect(printed.mock.calls).toEqual([['USAGE'], ['USAGE']]);
});

test('an unknown option or a missing value is told to the command, whose code is returned', () => {
  const told: string[] = [];
  const usageError = (message: string): number => (told.push(message), 2);
  expect(commandArgs(['--nope'], options, 'USAGE', usageError)).toBe(2);
  expect(commandArgs(['--limit'], options, 'USAGE', usageError)).toBe(2);
  expect(told).toHaveLength(2);
  expect(told[0]).toMatch(/nope/);
  expect(told[1]).toMatch(/limit/);
});
