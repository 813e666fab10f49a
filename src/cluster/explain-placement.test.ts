import { expect, test } from 'vitest';
import { explainPlacement } from './explain-placement.js';
import type { MemoryEstimate } from './memory-estimate.js';
import { placeDeployment } from './place-deployment.js';
import type { WorkerSnapshot } from './pool-snapshot.js';

const GiB = 1024 ** 3;
const memory: MemoryEstimate = {
  layerCount: 4,
  weightBytes: 3 * GiB,
  weightsByType: { Q4_K: 3 * GiB },
  nonLayerWeightBytes: 0.5 * GiB,
  kvCacheBytes: 1 * GiB,
  computeBytes: 0.5 * GiB,
  perLayerBytes: (3.5 * GiB) / 4,
  totalBytes: 4.5 * GiB,
};
const worker = (name: string, ramGiB: number, gpuGiB?: number): WorkerSnapshot => ({
  name,
  state: 'ready',
  ramTotalBytes: ramGiB * GiB,
  ramFreeBytes: ramGiB * GiB,
  gpus: gpuGiB ? [{ index: 0, name: 'GPU', totalBytes: gpuGiB * GiB, freeBytes: gpuGiB * GiB }] : [],
});

test('one line per worker per replica, marked chosen, fits or refused', () => {
  const result = placeDeployment({ name: 'chat', replicas: 1, device: 'auto', memory }, [worker('gpu', 16, 8), worker('cpu', 16), worker('tiny', 2)]);
  expect(explainPlacement(result)).toEqual([
    'chat replica 0: placed on gpu (single-gpu)',
    '  ~ cpu: fits cpu in RAM (4.5 GiB); ranked below the chosen worker',
    '  + gpu: placed single-gpu on GPU 0 (4.5 GiB, 4 layers)',
    '  - tiny: needs 4.5 GiB on GPU or in RAM; has no GPU, 2.0 GiB RAM free',
  ]);
});

test('a refusal ends the explanation; nothing to do says so', () => {
  const refused = explainPlacement(placeDeployment({ name: 'chat', replicas: 1, device: 'gpu', memory }, [worker('cpu', 64)]));
  expect(refused.at(-1)).toMatch(/^deployment chat: placed 0 of 1 replicas/);
  expect(explainPlacement({ deployment: 'chat', placements: [], decisions: [] })).toEqual(['chat: every replica is placed; nothing to decide']);
});
