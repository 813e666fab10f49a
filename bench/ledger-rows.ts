/** Shared pieces of the ledger benches: a ledger row as a served request writes it, and CPU time read per thread. */
import { existsSync, readFileSync } from 'node:fs';
import type { RequestLogEntry } from '../src/core/store.js';

/** A ledger row as serveGeneration writes it; `overrides` spread the rows over tenants, keys and models. */
export function ledgerRow(id: string, overrides: Partial<RequestLogEntry> = {}): RequestLogEntry {
  return {
    id,
    createdAt: Date.now(),
    kind: 'chat',
    model: 'bench-model',
    httpStatus: 200,
    status: 'ok',
    promptTokens: 120,
    completionTokens: 48,
    cachedTokens: 64,
    ttftMs: 12.345,
    durationMs: 250.5,
    finishReason: 'stop',
    stream: true,
    errorCode: null,
    servedBy: 'bench-model#0',
    route: null,
    usageEstimated: false,
    tenantId: 'acme',
    keyId: 'key_bench',
    deployment: null,
    worker: null,
    deviceClass: 'cpu',
    computeSeconds: 0.25,
    costNanoUsd: 123_456,
    requestedModel: 'qwen2.5-0.5b-instruct',
    parentId: null,
    appId: null,
    appVersion: null,
    batchId: null,
    ...overrides,
  };
}

/** CPU microseconds this process has used: all its threads, or (Linux /proc) its main thread alone. */
export function cpuUs(mainThread: boolean): number {
  if (!mainThread) {
    const usage = process.cpuUsage();
    return usage.user + usage.system;
  }
  const path = `/proc/self/task/${process.pid}/stat`;
  if (!existsSync(path)) return Number.NaN;
  const fields = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}
