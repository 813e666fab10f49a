import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { parseNvidiaSmi, readHardware } from './read-hardware.js';

test('nvidia-smi rows become GPUs with memory in bytes and the driver', () => {
  const text = '0, NVIDIA H100 80GB HBM3, 81559, 80000, 550.54.15\n1, NVIDIA L4, 23034, 22000, 550.54.15\n';
  expect(parseNvidiaSmi(text)).toEqual([
    { index: 0, name: 'NVIDIA H100 80GB HBM3', totalBytes: 81559 * 1024 ** 2, freeBytes: 80000 * 1024 ** 2, backend: 'cuda', driver: '550.54.15' },
    { index: 1, name: 'NVIDIA L4', totalBytes: 23034 * 1024 ** 2, freeBytes: 22000 * 1024 ** 2, backend: 'cuda', driver: '550.54.15' },
  ]);
  expect(parseNvidiaSmi('No devices were found\n')).toEqual([]);
});

test('a CPU-only binding, or a binding that fails, reports no GPU and still the CPU and RAM', async () => {
  for (const binding of [async () => ({ gpu: false as const, gpuDevices: [] }), async () => Promise.reject(new Error('no binding'))]) {
    const hardware = await readHardware(binding);
    expect(hardware.gpus).toEqual([]);
    expect(hardware.cores).toBeGreaterThan(0);
    expect(hardware.ramTotalBytes).toBeGreaterThan(hardware.ramFreeBytes);
    expect(hardware.cpuModel.length).toBeGreaterThan(0);
  }
});

test('a Vulkan binding splits its summed memory over its devices', async () => {
  const hardware = await readHardware(async () => ({ gpu: 'vulkan', gpuDevices: ['A', 'B'], vram: { total: 20, free: 10 } }));
  expect(hardware.gpus).toEqual([
    { index: 0, name: 'A', totalBytes: 10, freeBytes: 5, backend: 'vulkan' },
    { index: 1, name: 'B', totalBytes: 10, freeBytes: 5, backend: 'vulkan' },
  ]);
});

test('a stub nvidia-smi on PATH: each GPU with its memory and utilisation, and the CPU busy share from the second read', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'nimbus-smi-'));
  const stub = join(folder, 'nvidia-smi');
  writeFileSync(stub, '#!/bin/sh\necho "0, NVIDIA H100 80GB HBM3, 81559, 61559, 550.54.15, 87"\necho "1, NVIDIA L4, 23034, 23034, 550.54.15, [N/A]"\n');
  chmodSync(stub, 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${folder}:${path ?? ''}`;
  try {
    const cuda = async () => ({ gpu: 'cuda', gpuDevices: ['NVIDIA H100 80GB HBM3', 'NVIDIA L4'] });
    await readHardware(cuda);
    // The cores' times count in clock ticks: let some pass before the second read.
    for (const until = Date.now() + 100; Date.now() < until;) Math.sqrt(Math.random());
    const hardware = await readHardware(cuda);
    expect(hardware.gpus).toEqual([
      {
        index: 0,
        name: 'NVIDIA H100 80GB HBM3',
        totalBytes: 81559 * 1024 ** 2,
        freeBytes: 61559 * 1024 ** 2,
        backend: 'cuda',
        driver: '550.54.15',
        utilizationPercent: 87,
      },
      { index: 1, name: 'NVIDIA L4', totalBytes: 23034 * 1024 ** 2, freeBytes: 23034 * 1024 ** 2, backend: 'cuda', driver: '550.54.15' },
    ]);
    expect(hardware.cpuUtilization).toBeGreaterThanOrEqual(0);
    expect(hardware.cpuUtilization).toBeLessThanOrEqual(1);
  } finally {
    process.env.PATH = path;
    rmSync(folder, { recursive: true, force: true });
  }
});
