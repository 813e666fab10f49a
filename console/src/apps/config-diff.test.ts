import { describe, expect, it } from 'vitest';
import { canonicalJson, changedFields, configDiff, diffLines } from './config-diff.js';

describe('an app config diff', () => {
  it('is empty of changes when only the order of keys differs', () => {
    const lines = configDiff(
      { model: 'm', temperature: 0.4, tools: [{ name: 'a', type: 'function' }] },
      { tools: [{ type: 'function', name: 'a' }], temperature: 0.4, model: 'm' },
    );
    expect(lines.every((line) => line.kind === 'same')).toBe(true);
    expect(changedFields({ b: 1, a: { x: 1, y: 2 } }, { a: { y: 2, x: 1 }, b: 1 })).toEqual([]);
  });

  it('shows a changed value as the old line removed and the new line added, in place', () => {
    const lines = configDiff({ model: 'm', temperature: 0.4 }, { model: 'm', temperature: 0.2 });
    expect(lines).toEqual([
      { kind: 'same', text: '{' },
      { kind: 'same', text: '  "model": "m",' },
      { kind: 'removed', text: '  "temperature": 0.4' },
      { kind: 'added', text: '  "temperature": 0.2' },
      { kind: 'same', text: '}' },
    ]);
  });

  it('shows an added tool as added lines only, and names the fields that changed', () => {
    const older = { model: 'm', instructions: 'Be kind.' };
    const newer = { model: 'm', instructions: 'Be kind.', tools: [{ type: 'function', name: 'award_badge' }] };
    const lines = configDiff(older, newer);
    expect(lines.filter((line) => line.kind === 'removed').map((line) => line.text)).toEqual(['  "model": "m"']);
    expect(lines.filter((line) => line.kind === 'added').map((line) => line.text)).toEqual([
      '  "model": "m",',
      '  "tools": [',
      '    {',
      '      "name": "award_badge",',
      '      "type": "function"',
      '    }',
      '  ]',
    ]);
    expect(changedFields(older, newer)).toEqual(['tools']);
    expect(changedFields(newer, { ...older, model: 'n' })).toEqual(['model', 'tools']);
  });

  it('keeps every line of both sides, each once, in order', () => {
    const older = ['a', 'b', 'c', 'd', 'e'].join('\n');
    const newer = ['b', 'x', 'd', 'e', 'f'].join('\n');
    const lines = diffLines(older, newer);
    expect(lines.filter((line) => line.kind !== 'added').map((line) => line.text)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(lines.filter((line) => line.kind !== 'removed').map((line) => line.text)).toEqual(['b', 'x', 'd', 'e', 'f']);
    expect(lines.filter((line) => line.kind === 'same').map((line) => line.text)).toEqual(['b', 'd', 'e']);
    expect(canonicalJson({ z: [3, { b: 1, a: 2 }] })).toBe('{\n  "z": [\n    3,\n    {\n      "a": 2,\n      "b": 1\n    }\n  ]\n}');
  });
});
