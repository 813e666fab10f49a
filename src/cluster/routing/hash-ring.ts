/**
 * A consistent-hash ring of replicas: each replica owns many points on a 32-bit circle, and a key
 * belongs to the first point clockwise from its hash. When a replica joins or leaves, only the
 * keys it owned move, so cache affinity survives pool changes.
 */

/** FNV-1a, 32 bits, with a final avalanche: fast, stable across processes, good enough spread for a ring. */
export function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  return hash >>> 0;
}

/** Ring points per replica: enough that each replica's share of keys is within a few percent of even. */
export const defaultVirtualNodes = 160;

/** An immutable ring over a set of replica ids. */
export class HashRing {
  private readonly points: { position: number; id: string }[];

  constructor(
    readonly ids: readonly string[],
    virtualNodes = defaultVirtualNodes,
  ) {
    this.points = ids.flatMap((id) => Array.from({ length: virtualNodes }, (_, node) => ({ position: hash32(`${id}#${node}`), id })));
    this.points.sort((a, b) => a.position - b.position || a.id.localeCompare(b.id));
  }

  /** Every replica id once, in the order met walking clockwise from `key`'s hash. */
  walk(key: string): string[] {
    const order: string[] = [];
    if (this.points.length === 0) return order;
    const seen = new Set<string>();
    const start = this.firstAtOrAfter(hash32(key));
    for (let step = 0; step < this.points.length && seen.size < this.ids.length; step += 1) {
      const { id } = this.points[(start + step) % this.points.length]!;
      if (!seen.has(id)) {
        seen.add(id);
        order.push(id);
      }
    }
    return order;
  }

  private firstAtOrAfter(position: number): number {
    let low = 0;
    let high = this.points.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.points[middle]!.position < position) low = middle + 1;
      else high = middle;
    }
    return low % this.points.length;
  }
}

/** Keeps the ring of the last candidate set, rebuilding only when the set changes. */
export class RingCache {
  private ring: HashRing | undefined;
  private signature = '';

  constructor(private readonly virtualNodes = defaultVirtualNodes) {}

  /** The ring over these ids (order does not matter). */
  for(ids: readonly string[]): HashRing {
    const sorted = [...ids].sort();
    const signature = sorted.join('\u0000');
    if (!this.ring || signature !== this.signature) {
      this.ring = new HashRing(sorted, this.virtualNodes);
      this.signature = signature;
    }
    return this.ring;
  }
}

/** Candidates in the order of `ids`; ids without a candidate are skipped. */
export function inOrderOf<T extends { id: string }>(ids: readonly string[], candidates: readonly T[]): T[] {
  const byId = new Map(candidates.map((candidate) => [candidate.id, candidate]));
  return ids.map((id) => byId.get(id)).filter((candidate): candidate is T => candidate !== undefined);
}
