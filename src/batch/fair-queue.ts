/**
 * The order batch lines run in: round-robin across tenants, and within one tenant its batches
 * oldest first, each batch's lines in file order. A tenant with a huge batch cannot starve
 * another's small one: each turn takes one line from the next tenant that has work.
 */

/** A batch's lines waiting to run. */
export interface QueuedBatch<Item> {
  tenantId: string;
  createdAt: number;
  id: string;
  /** Whether it may hand out lines now (false while it ends). */
  open(): boolean;
  /** Its next line, or undefined when none waits. */
  take(): Item | undefined;
}

export class FairQueue<Item> {
  private readonly tenants = new Map<string, Array<QueuedBatch<Item>>>();
  /** Tenants in turn order; `cursor` is whose turn is next. */
  private order: string[] = [];
  private cursor = 0;

  add(batch: QueuedBatch<Item>): void {
    let batches = this.tenants.get(batch.tenantId);
    if (!batches) {
      batches = [];
      this.tenants.set(batch.tenantId, batches);
      this.order.push(batch.tenantId);
    }
    batches.push(batch);
    batches.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  remove(batch: QueuedBatch<Item>): void {
    const batches = this.tenants.get(batch.tenantId);
    if (!batches) return;
    const index = batches.indexOf(batch);
    if (index >= 0) batches.splice(index, 1);
    if (batches.length > 0) return;
    this.tenants.delete(batch.tenantId);
    const position = this.order.indexOf(batch.tenantId);
    this.order.splice(position, 1);
    if (position < this.cursor) this.cursor -= 1;
    if (this.cursor >= this.order.length) this.cursor = 0;
  }

  /** The next line in fair order, with its batch; undefined when no tenant has one. */
  next(): { batch: QueuedBatch<Item>; item: Item } | undefined {
    for (let turn = 0; turn < this.order.length; turn += 1) {
      const position = (this.cursor + turn) % this.order.length;
      for (const batch of this.tenants.get(this.order[position]!) ?? []) {
        if (!batch.open()) continue;
        const item = batch.take();
        if (item === undefined) continue;
        this.cursor = (position + 1) % this.order.length;
        return { batch, item };
      }
    }
    return undefined;
  }
}
