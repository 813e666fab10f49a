import { describe, expect, test } from 'vitest';
import { formatModelRef, ModelRefError, parseModelRef, type ModelRef } from './model-ref.js';

describe('parseModelRef', () => {
  const valid: Array<[string, ModelRef]> = [
    ['model.gguf', { kind: 'file', path: 'model.gguf' }],
    ['./models/tiny.gguf', { kind: 'file', path: './models/tiny.gguf' }],
    ['/abs/path/to/model.gguf', { kind: 'file', path: '/abs/path/to/model.gguf' }],
    ['  /padded.gguf  ', { kind: 'file', path: '/padded.gguf' }],
    ['C:\\models\\a.gguf', { kind: 'file', path: 'C:\\models\\a.gguf' }],
    ['file:///tmp/x.gguf', { kind: 'file', path: '/tmp/x.gguf' }],
    ['./hf:odd-name.gguf', { kind: 'file', path: './hf:odd-name.gguf' }],
    [
      'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf',
      { kind: 'hf', owner: 'Qwen', repo: 'Qwen2.5-0.5B-Instruct-GGUF', revision: 'main', file: 'qwen2.5-0.5b-instruct-q4_k_m.gguf' },
    ],
    ['hf:owner/repo@v1.0/file.gguf', { kind: 'hf', owner: 'owner', repo: 'repo', revision: 'v1.0', file: 'file.gguf' }],
    [
      'hf:owner/repo@0123456789abcdef0123456789abcdef01234567/file.gguf',
      { kind: 'hf', owner: 'owner', repo: 'repo', revision: '0123456789abcdef0123456789abcdef01234567', file: 'file.gguf' },
    ],
    ['hf:o/r/Q4_K_M/model-00001-of-00002.gguf', { kind: 'hf', owner: 'o', repo: 'r', revision: 'main', file: 'Q4_K_M/model-00001-of-00002.gguf' }],
    ['hf:o/r/FILE.GGUF', { kind: 'hf', owner: 'o', repo: 'r', revision: 'main', file: 'FILE.GGUF' }],
    ['HF:o/r/f.gguf', { kind: 'hf', owner: 'o', repo: 'r', revision: 'main', file: 'f.gguf' }],
    ['hf:my_org.x/my.repo_name-2/f.gguf', { kind: 'hf', owner: 'my_org.x', repo: 'my.repo_name-2', revision: 'main', file: 'f.gguf' }],
  ];
  test.each(valid)('%s', (text, expected) => {
    expect(parseModelRef(text)).toEqual(expected);
  });

  const invalid: Array<[string, RegExp]> = [
    ['', /empty/],
    ['   ', /empty/],
    ['hf:', /owner is missing/],
    ['hf:owner', /repository name is missing/],
    ['hf:owner/', /repository name is missing/],
    ['hf:owner/repo', /no file/],
    ['hf:owner/repo/', /no file/],
    ['hf:owner/repo:Q4_K_M', /tags such as ':Q4_K_M' are not supported/],
    ['hf://owner/repo/f.gguf', /without '\/\/', as hf:owner\/repo\/f.gguf/],
    ['hf:owner/repo@/f.gguf', /not a valid revision/],
    ['hf:owner/repo@refs/pr/1/f.gguf', /refs\/pr\/1 are not supported; give the commit hash/],
    ['hf:owner/repo@../f.gguf', /not a valid revision/],
    ['hf:../repo/f.gguf', /not a valid owner/],
    ['hf:owner/../f.gguf', /not a valid repository name/],
    ['hf:own er/repo/f.gguf', /not a valid owner/],
    ['hf:owner/repo/../../etc/passwd.gguf', /'\.\.'/],
    ['hf:owner/repo/a//b.gguf', /empty/],
    ['hf:owner/repo/dir\\f.gguf', /backslash/],
    ['hf:owner/repo/README.md', /not a \.gguf file/],
    ['hf:owner/repo/model.safetensors', /Nimbus serves GGUF models/],
    ['https://example.com/model.gguf', /URLs are not accepted/],
    [
      'https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf',
      /write it as hf:Qwen\/Qwen2\.5-0\.5B-Instruct-GGUF\/qwen2\.5-0\.5b-instruct-q4_k_m\.gguf/,
    ],
    ['https://huggingface.co/o/r/blob/dev/f.gguf?download=true', /write it as hf:o\/r@dev\/f\.gguf/],
    ['model\0.gguf', /NUL/],
  ];
  test.each(invalid)('refuses %j', (text, problem) => {
    expect(() => parseModelRef(text)).toThrow(ModelRefError);
    expect(() => parseModelRef(text)).toThrow(problem);
  });

  test('every refusal lists the accepted forms', () => {
    expect(() => parseModelRef('hf:owner/repo')).toThrow(/Use a path to a \.gguf file, hf:OWNER\/REPO\/FILE\.gguf, or hf:OWNER\/REPO@REVISION\/FILE\.gguf/);
  });
});

describe('formatModelRef', () => {
  test.each(['hf:o/r/f.gguf', 'hf:o/r@v2/sub/f.gguf', '/tmp/model.gguf', 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf'])(
    'round-trips %s',
    (text) => {
      expect(formatModelRef(parseModelRef(text))).toBe(text);
    },
  );

  test('omits the default revision', () => {
    expect(formatModelRef(parseModelRef('hf:o/r@main/f.gguf'))).toBe('hf:o/r/f.gguf');
  });
});
