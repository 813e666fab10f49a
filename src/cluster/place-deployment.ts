/**
 * Placement: which workers run the replicas of one deployment. Each replica goes to the best
 * offer among the ready workers: full GPU tiers before partial offload before CPU RAM; within a
 * class, workers holding fewer replicas of this deployment first (a worker that dies takes one
 * replica, not all); then the tighter bin-pack, so whole GPUs stay free for large models.
 * Every worker's verdict is kept, so `nimbus deployments explain` can say why.
 */
import { fitOnWorker, isWhole, type DeviceChoice, type Fit, type FitTier } from './fit-on-worker.js';
import type { MemoryEstimate } from './memory-estimate.js';
import { gibibytes, type WorkerSnapshot } from './pool-snapshot.js';

/** What to place. */
export interface DeploymentSpec {
  name: string;
  /** Replicas wanted in total, counting those already placed (`existing`). */
  replicas: number;
  device: DeviceChoice;
  /** One replica's needs, from `estimateMemory`. */
  memory: MemoryEstimate;
}

/** One worker's verdict for one replica. */
export interface WorkerVerdict {
  worker: string;
  /** `chosen` took the replica; `fits` could have, and lost on the ranking; `refused` could not. */
  outcome: 'chosen' | 'fits' | 'refused';
  tier?: FitTier;
  reason: string;
}

/** How one replica was placed (or not), with every worker's verdict. */
export interface ReplicaDecision {
  /** Replica number within the deployment, counting existing ones. */
  replica: number;
  placement?: Fit;
  verdicts: WorkerVerdict[];
}

/** The outcome for a deployment: the new placements, and a refusal in words when some replica found no worker. */
export interface PlacementResult {
  deployment: string;
  placements: Fit[];
  decisions: ReplicaDecision[];
  /** Set when fewer replicas were placed than asked: why, and what to change. */
  refusal?: string;
}

const classOf: Record<FitTier, number> = { 'single-gpu': 0, 'multi-gpu': 0, 'partial-offload': 1, cpu: 2 };
const tierOrder: Record<FitTier, number> = { 'single-gpu': 0, 'multi-gpu': 1, 'partial-offload': 2, cpu: 3 };

/**
 * Places the replicas `spec` still lacks onto `workers`. Pure: the snapshots are not changed; the
 * memory each placed replica takes is subtracted from a copy before the next replica is placed.
 */
export function placeDeployment(spec: DeploymentSpec, workers: readonly WorkerSnapshot[], existing: readonly { worker: string }[] = []): PlacementResult {
  const pool = workers.map((worker) => ({ ...worker, gpus: worker.gpus.map((gpu) => ({ ...gpu })) }));
  const hosted = new Map<string, number>();
  for (const replica of existing) hosted.set(replica.worker, (hosted.get(replica.worker) ?? 0) + 1);
  const result: PlacementResult = { deployment: spec.name, placements: [], decisions: [] };

  for (let replica = existing.length; replica < spec.replicas; replica += 1) {
    const offers: { fit: Fit; rank: number[] }[] = [];
    const verdicts: WorkerVerdict[] = [];
    for (const worker of pool) {
      const outcome = fitOnWorker(worker, spec.memory, spec.device);
      if ('refusal' in outcome) verdicts.push({ worker: worker.name, outcome: 'refused', reason: outcome.refusal });
      else offers.push({ fit: outcome.fit, rank: rankOf(outcome.fit, worker, hosted.get(worker.name) ?? 0) });
    }
    offers.sort((a, b) => compareRanks(a.rank, b.rank) || a.fit.worker.localeCompare(b.fit.worker));
    const best = offers[0];
    for (const offer of offers) {
      const chosen = offer === best;
      verdicts.push({
        worker: offer.fit.worker,
        outcome: chosen ? 'chosen' : 'fits',
        tier: offer.fit.tier,
        reason: describe(offer.fit, hosted.get(offer.fit.worker) ?? 0, chosen),
      });
    }
    verdicts.sort((a, b) => a.worker.localeCompare(b.worker));
    if (!best) {
      result.decisions.push({ replica, verdicts });
      result.refusal = refusalFor(spec, replica, verdicts);
      break;
    }
    take(pool, best.fit);
    hosted.set(best.fit.worker, (hosted.get(best.fit.worker) ?? 0) + 1);
    result.placements.push(best.fit);
    result.decisions.push({ replica, placement: best.fit, verdicts });
  }
  return result;
}

/** Lower is better, compared left to right. */
function rankOf(fit: Fit, worker: WorkerSnapshot, hostedHere: number): number[] {
  const used = worker.gpus.filter((gpu) => fit.gpus.includes(gpu.index));
  const wholeTouched = used.reduce((count, gpu) => count + isWhole(gpu), 0);
  const leftover =
    fit.tier === 'cpu' || fit.tier === 'partial-offload'
      ? worker.ramFreeBytes - fit.ramBytes
      : used.reduce((total, gpu) => total + gpu.freeBytes, 0) - fit.gpuBytes.reduce((a, b) => a + b, 0);
  return [classOf[fit.tier], hostedHere, tierOrder[fit.tier], -fit.gpuLayers, wholeTouched, leftover];
}

function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let index = 0; index < a.length; index += 1) if (a[index] !== b[index]) return a[index]! - b[index]!;
  return 0;
}

function describe(fit: Fit, hostedHere: number, chosen: boolean): string {
  const where =
    fit.tier === 'cpu'
      ? `in RAM (${gibibytes(fit.ramBytes)})`
      : `on GPU ${fit.gpus.join('+')} (${gibibytes(fit.gpuBytes.reduce((a, b) => a + b, 0))}, ${fit.gpuLayers} layers)${fit.ramBytes > 0 ? ` and RAM (${gibibytes(fit.ramBytes)})` : ''}`;
  const spread = hostedHere > 0 ? `, already hosts ${hostedHere} replica(s) of this deployment` : '';
  return `${chosen ? 'placed' : 'fits'} ${fit.tier} ${where}${spread}${chosen ? '' : '; ranked below the chosen worker'}`;
}

/** Subtracts a placed replica's memory from the working copy of the pool. */
function take(pool: WorkerSnapshot[], fit: Fit): void {
  const worker = pool.find((candidate) => candidate.name === fit.worker)!;
  worker.ramFreeBytes -= fit.ramBytes;
  fit.gpus.forEach((index, position) => {
    const gpu = worker.gpus.find((candidate) => candidate.index === index)!;
    gpu.freeBytes -= fit.gpuBytes[position]!;
  });
}

function refusalFor(spec: DeploymentSpec, replica: number, verdicts: readonly WorkerVerdict[]): string {
  const { memory } = spec;
  const needs = `one replica needs ${gibibytes(memory.totalBytes)} (weights ${gibibytes(memory.weightBytes)}, KV cache ${gibibytes(memory.kvCacheBytes)}${spareNote(memory)}, compute ${gibibytes(memory.computeBytes)})`;
  const workers =
    verdicts.length === 0
      ? 'the pool has no workers; start one with `nimbus worker --join URL --token TOKEN`'
      : verdicts.map((verdict) => `${verdict.worker}: ${verdict.reason}`).join('; ');
  return `deployment ${spec.name}: placed ${replica} of ${spec.replicas} replicas; ${needs}. ${workers}. Lower --ctx, --slots or --spare-slots, pick a smaller quantization, or add a worker with more memory.`;
}

/** ` with 1 spare slot`: a spare's cache is part of the replica's needs, said where it adds to them. */
function spareNote(memory: MemoryEstimate): string {
  const spares = memory.spareSlots ?? 0;
  return spares > 0 ? ` with ${spares} spare slot${spares === 1 ? '' : 's'}` : '';
}
