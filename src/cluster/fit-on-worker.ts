/**
 * Whether one replica fits on one worker, and how, in the tiers the best pools use (GPUStack):
 * one GPU, then several GPUs of the worker split by layer, then partial offload (some layers on
 * GPUs, the rest in CPU RAM), then CPU RAM alone. The first tier that fits is the worker's offer.
 */
import type { MemoryEstimate } from './memory-estimate.js';
import { gibibytes, type GpuSnapshot, type WorkerSnapshot } from './pool-snapshot.js';

/** Which devices a deployment may use: `gpu` refuses CPU tiers, `cpu` never touches a GPU. */
export type DeviceChoice = 'auto' | 'gpu' | 'cpu';

/** How a replica is laid out on its worker, best first. */
export type FitTier = 'single-gpu' | 'multi-gpu' | 'partial-offload' | 'cpu';

/** A worker's offer for one replica: the devices it would use and the bytes it would take from each. */
export interface Fit {
  worker: string;
  tier: FitTier;
  /** GPU indices used, in layer order. */
  gpus: number[];
  /** Bytes taken from each GPU in `gpus`, same order. */
  gpuBytes: number[];
  /** Layers on GPUs; the rest run on the CPU. */
  gpuLayers: number;
  /** CPU RAM taken. */
  ramBytes: number;
}

/** A worker's offer, or why it has none. */
export type FitOutcome = { fit: Fit } | { refusal: string };

/** The best tier this worker offers for one replica of `memory`. */
export function fitOnWorker(worker: WorkerSnapshot, memory: MemoryEstimate, device: DeviceChoice): FitOutcome {
  if (worker.state !== 'ready') return { refusal: `worker is ${worker.state}` };
  const gpus = device === 'cpu' ? [] : worker.gpus;
  const whole = { gpuLayers: memory.layerCount, ramBytes: 0 };

  const single = gpus.filter((gpu) => gpu.freeBytes >= memory.totalBytes).sort(byPacking(memory.totalBytes))[0];
  if (single) return { fit: { worker: worker.name, tier: 'single-gpu', gpus: [single.index], gpuBytes: [memory.totalBytes], ...whole } };

  // Several GPUs split by layer: each holds its share of weights and cache, plus its own compute buffer.
  const largestFirst = [...gpus].sort((a, b) => b.freeBytes - a.freeBytes || a.index - b.index);
  for (let count = 2; count <= largestFirst.length; count += 1) {
    const chosen = largestFirst.slice(0, count);
    const need = memory.weightBytes + memory.kvCacheBytes + memory.computeBytes * count;
    const free = sum(chosen.map((gpu) => gpu.freeBytes));
    if (free >= need && chosen.every((gpu) => gpu.freeBytes >= memory.computeBytes + memory.perLayerBytes)) {
      return { fit: { worker: worker.name, tier: 'multi-gpu', ...split(chosen, need, free), ...whole } };
    }
  }

  const gpuNeed = `needs ${gibibytes(memory.totalBytes)} on GPU`;
  const gpuHas =
    gpus.length === 0
      ? 'has no GPU'
      : `largest free GPU ${gibibytes(largestFirst[0]!.freeBytes)}, all GPUs ${gibibytes(sum(gpus.map((gpu) => gpu.freeBytes)))}`;
  if (device === 'gpu') return { refusal: `${gpuNeed}; ${gpuHas}` };

  // Partial offload: as many whole layers as the GPUs hold, the rest and the embeddings in RAM.
  const usable = gpus.filter((gpu) => gpu.freeBytes >= memory.computeBytes + memory.perLayerBytes);
  const room = sum(usable.map((gpu) => gpu.freeBytes - memory.computeBytes));
  const gpuLayers = memory.perLayerBytes > 0 ? Math.min(memory.layerCount - 1, Math.floor(room / memory.perLayerBytes)) : 0;
  const partialRam = memory.nonLayerWeightBytes + (memory.layerCount - gpuLayers) * memory.perLayerBytes + memory.computeBytes;
  if (gpuLayers >= 1 && worker.ramFreeBytes >= partialRam) {
    const need = gpuLayers * memory.perLayerBytes + memory.computeBytes * usable.length;
    return {
      fit: { worker: worker.name, tier: 'partial-offload', ...split(usable, need, sum(usable.map((gpu) => gpu.freeBytes))), gpuLayers, ramBytes: partialRam },
    };
  }

  if (worker.ramFreeBytes >= memory.totalBytes) {
    return { fit: { worker: worker.name, tier: 'cpu', gpus: [], gpuBytes: [], gpuLayers: 0, ramBytes: memory.totalBytes } };
  }
  const ramHas = `${gibibytes(worker.ramFreeBytes)} RAM free`;
  return { refusal: device === 'cpu' ? `needs ${gibibytes(memory.totalBytes)} of RAM; ${ramHas}` : `${gpuNeed} or in RAM; ${gpuHas}, ${ramHas}` };
}

/** Best fit first: GPUs already in use before whole ones (keep whole GPUs free), then the least left over. */
function byPacking(need: number) {
  return (a: GpuSnapshot, b: GpuSnapshot) => isWhole(a) - isWhole(b) || a.freeBytes - need - (b.freeBytes - need) || a.index - b.index;
}

/** 1 for a GPU nothing uses yet. */
export function isWhole(gpu: GpuSnapshot): number {
  return gpu.freeBytes >= gpu.totalBytes ? 1 : 0;
}

/** Spreads `need` bytes over GPUs in proportion to their free memory, as llama.cpp's tensor split does by default. */
function split(gpus: readonly GpuSnapshot[], need: number, free: number): Pick<Fit, 'gpus' | 'gpuBytes'> {
  return { gpus: gpus.map((gpu) => gpu.index), gpuBytes: gpus.map((gpu) => Math.min(gpu.freeBytes, Math.ceil((need * gpu.freeBytes) / free))) };
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
