/**
 * The model files of the joined-worker pool: a deployment's source resolved to a GGUF in the
 * control plane's cache (once per source), its memory estimate from the header (once per source,
 * context, slots and spare slots), and what a worker needs to download it (size, sha256, the path to fetch).
 */
import { basename } from 'node:path';
import { estimateMemory, type MemoryEstimate } from '../../cluster/index.js';
import type { ReplicaAssignment } from '../../core/pool-control.js';
import type { DeploymentRecord, PoolReplicaRecord } from '../../core/pool-store.js';
import type { ProvisionSpec } from '../../core/replica-provisioner.js';
import { readGgufModel } from '../../gguf/index.js';
import { FileDigests } from './file-digest.js';

/** Resolves deployments' model sources to files, sizes them, and describes them to workers. */
export class ModelFiles {
  private readonly digests = new FileDigests();
  private readonly paths = new Map<string, Promise<string>>();
  private readonly memory = new Map<string, MemoryEstimate>();

  /** `resolveModel`: the control plane's local GGUF path for a source (its model cache). */
  constructor(private readonly resolveModel: (source: string) => Promise<string>) {}

  /** The local path of a source; a failed resolution is tried again next time. */
  pathOf(source: string): Promise<string> {
    let path = this.paths.get(source);
    if (!path) {
      path = this.resolveModel(source);
      path.catch(() => this.paths.delete(source));
      this.paths.set(source, path);
    }
    return path;
  }

  /** One replica's memory needs, from the GGUF header; throws when the file cannot be resolved or read. */
  async memoryOf(spec: MemorySpec): Promise<MemoryEstimate> {
    const key = memoryKey(spec);
    const known = this.memory.get(key);
    if (known) return known;
    // Every file of a split model: the first alone undercounts the weights.
    const header = await readGgufModel(await this.pathOf(spec.source));
    const memory = estimateMemory(header, { contextSize: spec.contextSize, slots: spec.slots, spareSlots: spec.spareSlots });
    this.memory.set(key, memory);
    return memory;
  }

  /** The estimate if it was made already (placement counts replicas not yet loaded with it). */
  knownMemory(spec: MemorySpec | undefined): MemoryEstimate | undefined {
    return spec ? this.memory.get(memoryKey(spec)) : undefined;
  }

  /** What a worker needs to run `replica` of `deployment`. */
  async assignment(replica: PoolReplicaRecord, deployment: DeploymentRecord): Promise<ReplicaAssignment> {
    const path = await this.pathOf(deployment.source);
    const digest = await this.digests.of(path);
    return {
      replica: replica.id,
      deployment: deployment.name,
      file: `/v1/pool/files/${encodeURIComponent(deployment.name)}`,
      fileName: basename(path),
      size: digest.size,
      sha256: digest.sha256,
      contextSize: deployment.contextSize,
      slots: deployment.slots,
      spareSlots: deployment.spareSlots,
      device: deployment.device,
    };
  }
}

/** What a replica's memory depends on. */
type MemorySpec = Pick<ProvisionSpec, 'source' | 'contextSize' | 'slots' | 'spareSlots'>;

const memoryKey = (spec: MemorySpec): string => `${spec.source}\u0000${spec.contextSize}\u0000${spec.slots}\u0000${spec.spareSlots}`;
