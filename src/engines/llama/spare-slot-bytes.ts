/** What spare slots (sequences kept for interactive requests beside batch lines; decision 0017) cost in memory. */
import type { LlamaModel } from 'node-llama-cpp';

/**
 * Bytes (RAM and VRAM together) that `spares` sequences add to a context of `slots` sequences of
 * `contextSize` tokens each: node-llama-cpp's estimate with them less its estimate without.
 */
export async function spareSlotBytes(model: LlamaModel, contextSize: number, slots: number, spares: number): Promise<number> {
  if (spares === 0) return 0;
  const estimate = async (sequences: number): Promise<number> => {
    const { cpuRam, gpuVram } = await model.fileInsights.estimateContextResourceRequirementsV2({ contextSize, modelGpuLayers: model.gpuLayers, sequences });
    return cpuRam + gpuVram;
  };
  return Math.max(0, (await estimate(slots + spares)) - (await estimate(slots)));
}
