import { expect, test } from 'vitest';
import { renderDeployments, renderWorkers, type DeploymentView, type WorkerView } from './pool-output.js';

test('deployments show their autoscale range, spare slots beside slots (none from an older server), requests waiting, and the last change with its reason', () => {
  const deployments: DeploymentView[] = [
    {
      name: 'chat',
      source: '/m.gguf',
      replicas: 2,
      device: 'cpu',
      contextSize: 4096,
      slots: 4,
      spareSlots: 1,
      routing: 'prefix-cache',
      autoscale: { minReplicas: 0, maxReplicas: 3, targetQueuePerReplica: 2 },
      placed: [
        { id: 'rep_1', worker: 'w1', state: 'ready' },
        { id: 'rep_2', worker: 'w2', state: 'assigned' },
      ],
      held: 1,
      lastScale: { at: Date.now() - 5000, from: 1, to: 2, reason: 'demand 5 on 1 ready replica passes the target of 2 per replica' },
    },
    { name: 'fixed', source: '/f.gguf', replicas: 1, device: 'auto', contextSize: 2048, slots: 2, routing: 'round-robin', autoscale: null, placed: [] },
  ];
  const [header, chat, fixed, ...notes] = renderDeployments(deployments).split('\n');
  expect(header!.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'PLACED', 'WANTED', 'AUTOSCALE', 'DEVICE', 'CTX', 'SLOTS', 'ROUTING', 'WORKERS']);
  expect(chat!.split(/\s{2,}/)).toEqual(['chat', '1', '2', '2', '0-3', 'cpu', '4096', '4+1', 'prefix-cache', 'w1(ready) w2(assigned)']);
  expect(fixed!.split(/\s{2,}/)).toEqual(['fixed', '0', '0', '1', '-', 'auto', '2048', '2', 'round-robin', '-']);
  expect(notes).toEqual([
    'chat: 1 request(s) waiting for a replica',
    'chat: scaled 1 -> 2 5 s ago: demand 5 on 1 ready replica passes the target of 2 per replica',
  ]);
});

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
