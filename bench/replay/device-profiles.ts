/**
 * Cost per token of the replicas the simulator runs, for one model: Llama 3 8B-class, Q4.
 *
 * GPU (measured by others, published): llama.cpp PR #19053 (ggml-org/llama.cpp, Feb 2026) reports
 * for "NVIDIA RTX 6000 Ada Generation, llama 8B Q4_0": pp8096 8,008 t/s, tg128 168.9 t/s. So
 * prefill 8,000 tokens/s and one decode step 5.9 ms at batch 1. The growth of the decode step
 * with batch (0.25 ms per extra sequence; decode is memory-bound, so batching is nearly free) is
 * an assumption, labelled as such.
 *
 * CPU (ASSUMED, not measured for this model): decode ~100 ms/token for a 7B Q4_0 at 6 threads
 * (ggml-org/llama.cpp issue #39), prefill 60 tokens/s for a 16-core server; +10 ms per extra
 * sequence. Measuring stories260K here says nothing about an 8B model, so no CPU figure here is
 * ours; the mixed-pool results show how policies treat slow replicas, not a CPU benchmark.
 *
 * KV cache capacity: Llama 3 8B keeps 128 KiB per token (32 layers x 8 KV heads x 128 x 2 x f16),
 * 64 MiB per 512-token block; a 48 GB GPU with ~5 GB of weights holds ~640 blocks, a CPU
 * worker with 256 GB RAM ~2,000 blocks (assumed budget for the cache).
 */

/** How fast one replica works. */
export interface DeviceProfile {
  name: string;
  /** Prompt tokens per second, one prefill at a time. */
  prefillTokensPerSecond: number;
  /** Decode step at batch 1, in ms (time per output token). */
  decodeStepMs: number;
  /** Extra ms per decode step for each other sequence in the batch. */
  decodeStepPerSequenceMs: number;
  /** Sequences a replica runs at once (llama slots); more wait in its queue. */
  slots: number;
  /** 512-token blocks its prefix cache holds (LRU). */
  cacheBlocks: number;
  /** Relative speed, for load-aware routing (`RoutingCandidate.weight`). */
  weight: number;
}

/** RTX 6000 Ada class GPU, 8B Q4 (figures above). */
export const gpuProfile: DeviceProfile = {
  name: 'gpu',
  prefillTokensPerSecond: 8000,
  decodeStepMs: 5.9,
  decodeStepPerSequenceMs: 0.25,
  slots: 16,
  cacheBlocks: 640,
  weight: 8000 / 60,
};

/** Server CPU, 8B Q4 (assumed figures above). */
export const cpuProfile: DeviceProfile = {
  name: 'cpu',
  prefillTokensPerSecond: 60,
  decodeStepMs: 100,
  decodeStepPerSequenceMs: 10,
  slots: 4,
  cacheBlocks: 2000,
  weight: 1,
};
