import { describe, expect, test } from 'vitest';
import type { MemoryEstimate } from './memory-estimate.js';
import { placeDeployment, type DeploymentSpec } from './place-deployment.js';
import type { WorkerSnapshot } from './pool-snapshot.js';

const GiB = 1024 ** 3;

/** A model of `total` GiB: 32 layers, 1 GiB outside the layers, 0.5 GiB compute buffer. */
function model(total: number): MemoryEstimate {
  const computeBytes = 0.5 * GiB;
  const nonLayerWeightBytes = 1 * GiB;
  const layered = total * GiB - computeBytes - nonLayerWeightBytes;
  return {
    layerCount: 32,
    weightBytes: nonLayerWeightBytes + layered * 0.8,
    weightsByType: {},
    nonLayerWeightBytes,
    kvCacheBytes: layered * 0.2,
    computeBytes,
    perLayerBytes: layered / 32,
    totalBytes: total * GiB,
  };
}

function worker(name: string, ramGiB: number, gpus: (number | [total: number, free: number])[] = [], state: WorkerSnapshot['state'] = 'ready'): WorkerSnapshot {
  return {
    name,
    state,
    ramTotalBytes: ramGiB * GiB,
    ramFreeBytes: ramGiB * GiB,
    gpus: gpus.map((gpu, index) => {
      const [total, free] = typeof gpu === 'number' ? [gpu, gpu] : gpu;
      return { index, name: `GPU ${total}G`, totalBytes: total * GiB, freeBytes: free * GiB };
    }),
  };
}

const spec = (total: number, replicas = 1, device: DeploymentSpec['device'] = 'auto'): DeploymentSpec => ({
  name: 'chat',
  replicas,
  device,
  memory: model(total),
});
const where = (result: ReturnType<typeof placeDeployment>) => result.placements.map((fit) => `${fit.worker}:${fit.tier}:${fit.gpus.join('+')}`);

describe('placeDeployment: tiers', () => {
  test('one GPU beats CPU RAM', () => {
    const result = placeDeployment(spec(10), [worker('cpu-box', 256), worker('gpu-box', 64, [24])]);
    expect(where(result)).toEqual(['gpu-box:single-gpu:0']);
  });

  test('several GPUs of one worker when no single GPU holds it', () => {
    const result = placeDeployment(spec(30), [worker('a', 64, [24, 24])]);
    expect(where(result)).toEqual(['a:multi-gpu:0+1']);
    const fit = result.placements[0]!;
    expect(fit.gpuLayers).toBe(32);
    expect(fit.gpuBytes.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(30.5 * GiB);
  });

  test('multi-GPU uses the fewest GPUs that hold it', () => {
    const result = placeDeployment(spec(30), [worker('a', 64, [16, 16, 16, 16])]);
    expect(result.placements[0]!.gpus).toHaveLength(2);
  });

  test('partial offload when GPUs hold only some layers, the rest in RAM', () => {
    const result = placeDeployment(spec(40), [worker('a', 64, [12])]);
    const fit = result.placements[0]!;
    expect(fit.tier).toBe('partial-offload');
    expect(fit.gpuLayers).toBeGreaterThan(0);
    expect(fit.gpuLayers).toBeLessThan(32);
    expect(fit.gpuBytes[0]).toBeLessThanOrEqual(12 * GiB);
    expect(fit.ramBytes).toBeGreaterThan(20 * GiB);
  });

  test('a partial offload beats CPU RAM; CPU RAM is the last tier', () => {
    expect(where(placeDeployment(spec(40), [worker('cpu', 512), worker('small-gpu', 64, [12])]))).toEqual(['small-gpu:partial-offload:0']);
    expect(where(placeDeployment(spec(40), [worker('cpu', 512), worker('tiny-gpu', 16, [12])]))).toEqual(['cpu:cpu:']);
  });

  test('device=cpu never touches a GPU; device=gpu refuses CPU and partial tiers', () => {
    expect(where(placeDeployment(spec(10, 1, 'cpu'), [worker('a', 64, [24])]))).toEqual(['a:cpu:']);
    const refused = placeDeployment(spec(40, 1, 'gpu'), [worker('a', 512, [24])]);
    expect(refused.placements).toEqual([]);
    expect(refused.refusal).toMatch(/needs 40\.0 GiB on GPU; largest free GPU 24\.0 GiB/);
  });

  test('CPU-only workers serve models that fit in RAM', () => {
    const result = placeDeployment(spec(6, 3), [worker('c1', 16), worker('c2', 16), worker('c3', 8)]);
    expect(where(result).sort()).toEqual(['c1:cpu:', 'c2:cpu:', 'c3:cpu:']);
  });
});

describe('placeDeployment: bin-packing keeps whole GPUs free', () => {
  test('a GPU already in use is filled before a whole one', () => {
    const result = placeDeployment(spec(8), [worker('a', 64, [[24, 12], 24])]);
    expect(where(result)).toEqual(['a:single-gpu:0']);
  });

  test('the tightest GPU across workers wins, so the big one stays whole for a big model', () => {
    const pool = [worker('big', 64, [80]), worker('small', 64, [24])];
    expect(where(placeDeployment(spec(20), pool))).toEqual(['small:single-gpu:0']);
    const next = placeDeployment(spec(70), pool);
    expect(where(next)).toEqual(['big:single-gpu:0']);
  });

  test('fragmentation: two half-used GPUs cannot take a model one whole GPU could', () => {
    const pool = [
      worker('frag', 64, [
        [24, 12],
        [24, 12],
      ]),
      worker('whole', 64, [24]),
    ];
    expect(where(placeDeployment(spec(20), pool))).toEqual(['whole:single-gpu:0']);
  });

  test('memory taken by one replica is not offered to the next', () => {
    const result = placeDeployment(spec(14, 2), [worker('a', 1, [24])]);
    expect(where(result)).toEqual(['a:single-gpu:0']);
    expect(result.refusal).toMatch(/placed 1 of 2 replicas/);
  });
});

describe('placeDeployment: spreading and existing replicas', () => {
  test('replicas of one deployment spread across workers', () => {
    const result = placeDeployment(spec(8, 3), [worker('a', 64, [24, 24, 24]), worker('b', 64, [24]), worker('c', 64, [24])]);
    expect(result.placements.map((fit) => fit.worker).sort()).toEqual(['a', 'b', 'c']);
  });

  test('a second replica shares a worker only when no other worker fits, and packs onto the GPU in use', () => {
    const result = placeDeployment(spec(8, 2), [worker('a', 64, [24, 24]), worker('cpu-only', 4)]);
    expect(where(result)).toEqual(['a:single-gpu:0', 'a:single-gpu:0']);
  });

  test('a full GPU tier on a worker that already hosts one beats CPU RAM elsewhere', () => {
    const result = placeDeployment(spec(8, 2), [worker('a', 64, [24, 24]), worker('cpu', 256)]);
    expect(result.placements.map((fit) => fit.tier)).toEqual(['single-gpu', 'single-gpu']);
  });

  test('existing replicas count toward the total and toward spreading', () => {
    const result = placeDeployment(spec(8, 3), [worker('a', 64, [24]), worker('b', 64, [24]), worker('c', 64, [24])], [{ worker: 'a' }]);
    expect(result.placements.map((fit) => fit.worker)).toEqual(['b', 'c']);
    expect(result.decisions.map((decision) => decision.replica)).toEqual([1, 2]);
  });

  test('nothing to do when the deployment already has its replicas', () => {
    const result = placeDeployment(spec(8, 1), [worker('a', 64, [24])], [{ worker: 'a' }]);
    expect(result).toEqual({ deployment: 'chat', placements: [], decisions: [] });
  });

  test('draining and unreachable workers are refused, with the reason', () => {
    const result = placeDeployment(spec(8), [worker('d', 64, [24], 'draining'), worker('u', 64, [24], 'unreachable'), worker('ok', 64, [24])]);
    expect(where(result)).toEqual(['ok:single-gpu:0']);
    expect(result.decisions[0]!.verdicts).toEqual([
      { worker: 'd', outcome: 'refused', reason: 'worker is draining' },
      { worker: 'ok', outcome: 'chosen', tier: 'single-gpu', reason: expect.stringMatching(/^placed single-gpu on GPU 0/) },
      { worker: 'u', outcome: 'refused', reason: 'worker is unreachable' },
    ]);
  });
});

describe('placeDeployment: explanations and refusals', () => {
  test('every worker gets a verdict: chosen, fits (ranked lower) or refused', () => {
    const result = placeDeployment(spec(20), [worker('big', 64, [80]), worker('small', 64, [24]), worker('tiny', 8, [8])]);
    const verdicts = result.decisions[0]!.verdicts;
    expect(verdicts.map((verdict) => [verdict.worker, verdict.outcome])).toEqual([
      ['big', 'fits'],
      ['small', 'chosen'],
      ['tiny', 'refused'],
    ]);
    expect(verdicts[0]!.reason).toMatch(/ranked below/);
    expect(verdicts[2]!.reason).toMatch(/needs 20\.0 GiB on GPU or in RAM; largest free GPU 8\.0 GiB, all GPUs 8\.0 GiB, 8\.0 GiB RAM free/);
  });

  test('a model too large for any worker is a clear refusal, not a crash', () => {
    const result = placeDeployment(spec(900, 2), [worker('a', 256, [80, 80]), worker('b', 128)]);
    expect(result.placements).toEqual([]);
    expect(result.refusal).toMatch(/^deployment chat: placed 0 of 2 replicas; one replica needs 900\.0 GiB/);
    expect(result.refusal).toMatch(/a: needs 900\.0 GiB on GPU or in RAM/);
    expect(result.refusal).toMatch(/b: needs 900\.0 GiB on GPU or in RAM; has no GPU, 128\.0 GiB RAM free/);
    expect(result.refusal).toMatch(/Lower --ctx, --slots or --spare-slots/);
  });

  test('an empty pool says how to add a worker', () => {
    expect(placeDeployment(spec(1), []).refusal).toMatch(/nimbus worker --join/);
  });

  test('the input snapshots are never changed', () => {
    const pool = [worker('a', 64, [24])];
    const before = JSON.stringify(pool);
    placeDeployment(spec(8, 2), pool);
    expect(JSON.stringify(pool)).toBe(before);
  });

  test('placement is deterministic: ties go to the worker name', () => {
    const pool = [worker('b', 64, [24]), worker('a', 64, [24])];
    expect(where(placeDeployment(spec(8), pool))).toEqual(['a:single-gpu:0']);
  });
});
