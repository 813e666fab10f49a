/**
 * What a worker has: CPU model, cores and RAM from node:os; GPUs from nvidia-smi where it exists
 * (names, memory, driver) when the binding runs CUDA, else from llama.cpp's binding (its backend's device names and memory).
 * Any probe that fails counts as no GPU: a worker without one still serves on its CPU.
 */
import { execFile } from 'node:child_process';
import { cpus, freemem, totalmem } from 'node:os';
import { promisify } from 'node:util';
import type { GpuReport, WorkerHardware } from '../core/pool-store.js';

/** What the llama engine says of the accelerator it found (`LlamaEngine.hardware`). */
export interface BindingHardware {
  gpu: string | false;
  gpuDevices: string[];
  vram?: { total: number; free: number };
}

const run = promisify(execFile);
const mebibyte = 1024 ** 2;

const gpuQuery = '--query-gpu=index,name,memory.total,memory.free,driver_version,utilization.gpu';

/** Parses `nvidia-smi --query-gpu=index,name,memory.total,memory.free,driver_version[,utilization.gpu] --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(text: string): GpuReport[] {
  return text
    .split('\n')
    .map((line) => line.split(',').map((field) => field.trim()))
    .filter((fields) => fields.length >= 5 && /^\d+$/.test(fields[0]!))
    .map(([index, name, total, free, driver, utilization]) => {
      const gpu: GpuReport = {
        index: Number(index),
        name: name!,
        totalBytes: Number(total) * mebibyte,
        freeBytes: Number(free) * mebibyte,
        backend: 'cuda',
        driver: driver!,
      };
      // `[N/A]` on GPUs that do not report it.
      if (utilization !== undefined && /^\d+(\.\d+)?$/.test(utilization)) gpu.utilizationPercent = Number(utilization);
      return gpu;
    });
}

async function nvidiaGpus(): Promise<GpuReport[]> {
  try {
    const { stdout } = await run('nvidia-smi', [gpuQuery, '--format=csv,noheader,nounits'], {
      timeout: 5000,
    });
    return parseNvidiaSmi(stdout);
  } catch {
    return [];
  }
}

/** GPUs as the binding sees them: its memory figures are summed over devices, so they are split evenly. */
function bindingGpus(binding: BindingHardware | undefined): GpuReport[] {
  if (!binding?.gpu || !binding.vram || binding.gpuDevices.length === 0) return [];
  const count = binding.gpuDevices.length;
  return binding.gpuDevices.map((name, index) => ({
    index,
    name,
    totalBytes: Math.floor(binding.vram!.total / count),
    freeBytes: Math.floor(binding.vram!.free / count),
    backend: String(binding.gpu),
  }));
}

/** All cores' busy and total milliseconds at the last read, for the share busy between two reads. */
let lastCpu: { busy: number; total: number } | undefined;

/** Share of all cores busy since the previous call (0 to 1); undefined on the first. */
export function cpuUtilization(): number | undefined {
  let busy = 0;
  let total = 0;
  for (const core of cpus()) {
    const { user, nice, sys, irq, idle } = core.times;
    busy += user + nice + sys + irq;
    total += user + nice + sys + irq + idle;
  }
  const before = lastCpu;
  // No clock tick since the last read (they count in 10 ms steps): keep measuring from that one.
  if (before && total <= before.total) return undefined;
  lastCpu = { busy, total };
  if (!before) return undefined;
  return Math.min(1, Math.max(0, (busy - before.busy) / (total - before.total)));
}

/** The worker's hardware now; `binding` is undefined on a CPU-only worker (`--gpu cpu`). */
export async function readHardware(binding: () => Promise<BindingHardware | undefined>): Promise<WorkerHardware> {
  const cores = cpus();
  const llama = await binding().catch(() => undefined);
  // nvidia-smi knows each GPU's own memory and the driver; the binding only sums over devices.
  const gpus = llama?.gpu === 'cuda' ? await nvidiaGpus() : [];
  const hardware: WorkerHardware = {
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    cores: cores.length,
    ramTotalBytes: totalmem(),
    ramFreeBytes: freemem(),
    gpus: gpus.length > 0 ? gpus : bindingGpus(llama),
  };
  const busy = cpuUtilization();
  if (busy !== undefined) hardware.cpuUtilization = Math.round(busy * 1000) / 1000;
  return hardware;
}
