import { expect, test } from 'vitest';
import { renderWorkers, type WorkerView } from './pool-output.js';

test('joined workers show their hardware; upstream engines their models and open breakers', () => {
  const workers: WorkerView[] = [
    {
      kind: 'joined',
      name: 'gpu-1',
      endpoint: 'http://10.0.0.7:8090',
      state: 'ready',
      silentMs: 120,
      hardware: { cpuModel: 'EPYC', cores: 16, ramTotalBytes: 64 * 1024 ** 3, gpus: [{ name: 'L4', totalBytes: 24 * 1024 ** 3 }] },
      load: { activeSequences: 2, queueDepth: 1, tokensPerSecond: 310 },
      replicas: ['rep_1'],
    },
    {
      kind: 'static',
      name: 'vllm',
      endpoint: 'http://10.0.0.9:8000/v1',
      state: 'degraded',
      models: [
        { model: 'qwen', breaker: 'closed' },
        { model: 'llama', breaker: 'open' },
      ],
      load: { activeRequests: 3 },
    },
  ];
  const [header, joined, upstream] = renderWorkers(workers).split('\n');
  expect(header!.split(/\s{2,}/)).toEqual(['NAME', 'KIND', 'STATE', 'ENDPOINT', 'CPU', 'RAM', 'GPUS', 'ACTIVE', 'QUEUED', 'TOK/S', 'REPLICAS']);
  expect(joined!.split(/\s{2,}/)).toEqual([
    'gpu-1',
    'joined',
    'ready',
    'http://10.0.0.7:8090',
    '16x EPYC',
    '64.0 GiB',
    'L4 24.0 GiB',
    '2',
    '1',
    '310',
    'rep_1',
  ]);
  expect(upstream!.split(/\s{2,}/)).toEqual([
    'vllm',
    'upstream',
    'degraded',
    'http://10.0.0.9:8000/v1',
    '-',
    '-',
    '-',
    '3',
    '-',
    '-',
    'qwen llama(breaker open)',
  ]);
});
