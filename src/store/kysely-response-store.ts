/**
 * The responses section of the Store contract over Kysely, portable across SQLite and PostgreSQL:
 * a row per response (its API object as JSON) and a row per input item, deleted together. The
 * write of a new response is the dialect's (`ResponseRowWriter`): it is on every stored
 * response's path.
 */
import type { CompiledQuery, Kysely, Selectable } from 'kysely';
import type { InputItemQuery, NewResponse, ResponseStore, StoredResponse } from '../core/response-store.js';
import type { ResponseInputItemsTable, ResponsesTable } from './response-schema.js';
import type { Database } from './schema.js';

/** A new response as its rows: the body and each item serialised once, and the bytes they take. */
export interface ResponseRows {
  response: ResponsesTable;
  items: ResponseInputItemsTable[];
}

/**
 * Writes a new response's rows atomically. The portable one is a Kysely transaction (four round
 * trips and each insert compiled per call); each dialect passes a faster one (decision 0020):
 * SQLite's runs off the request thread, PostgreSQL's is one statement.
 */
export type ResponseRowWriter = ((rows: ResponseRows) => Promise<void>) & {
  /** Where the writer holds writes back to group them: sends them now (a reader waits on one). */
  flush?: () => void;
};

/** The response's rows, each JSON value stringified once (the quota's bytes are counted from those strings). */
export function responseRows(response: NewResponse): ResponseRows {
  const body = JSON.stringify(response.body);
  let bytes = Buffer.byteLength(body);
  const items = response.inputItems.map((item, position) => {
    const json = JSON.stringify(item);
    bytes += Buffer.byteLength(json);
    return { response_id: response.id, tenant_id: response.tenantId, position, item_id: String(item.id), item: json };
  });
  return {
    response: {
      id: response.id,
      tenant_id: response.tenantId,
      key_id: response.keyId,
      created_at: response.createdAt,
      expires_at: response.expiresAt,
      status: response.status,
      previous_response_id: response.previousResponseId,
      body,
      bytes,
    },
    items,
  };
}

/** The portable writer: one Kysely transaction. */
export function kyselyResponseWriter(db: Kysely<Database>): ResponseRowWriter {
  return async ({ response, items }) => {
    await db.transaction().execute(async (transaction) => {
      await transaction.insertInto('responses').values(response).execute();
      // A few hundred rows a statement keeps under both dialects' parameter limits.
      for (let start = 0; start < items.length; start += 200)
        await transaction
          .insertInto('response_input_items')
          .values(items.slice(start, start + 200))
          .execute();
    });
  };
}

export class KyselyResponseStore implements ResponseStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly writeRows: ResponseRowWriter = kyselyResponseWriter(db),
    /** Where the quota's sum runs: on SQLite the ledger thread's connection, so a tenant's many rows are summed off the request thread. */
    private readonly read: (query: CompiledQuery) => Promise<Array<Record<string, unknown>>> = async (query) =>
      (await db.executeQuery(query)).rows as Array<Record<string, unknown>>,
  ) {}

  async putResponse(response: NewResponse): Promise<number> {
    const rows = responseRows(response);
    await this.writeRows(rows);
    return rows.response.bytes;
  }

  flushWrites(): void {
    this.writeRows.flush?.();
  }

  async finishResponse(tenantId: string, id: string, update: Pick<StoredResponse, 'status' | 'body' | 'bytes'>): Promise<boolean> {
    const result = await this.db
      .updateTable('responses')
      .set({ status: update.status, body: JSON.stringify(update.body), bytes: update.bytes })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async getResponse(tenantId: string, id: string, now: number): Promise<StoredResponse | undefined> {
    const row = await this.db
      .selectFrom('responses')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (!row) return undefined;
    const items = await this.db.selectFrom('response_input_items').select('item').where('response_id', '=', id).orderBy('position', 'asc').execute();
    return fromRow(
      row,
      items.map((entry) => JSON.parse(entry.item) as Record<string, unknown>),
    );
  }

  async listInputItems(tenantId: string, id: string, query: InputItemQuery, now: number): Promise<Array<Record<string, unknown>> | undefined> {
    const owner = await this.db
      .selectFrom('responses')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (!owner) return undefined;
    let select = this.db.selectFrom('response_input_items').select(['item', 'position']).where('response_id', '=', id);
    if (query.after !== undefined) {
      const cursor = await this.db
        .selectFrom('response_input_items')
        .select('position')
        .where('response_id', '=', id)
        .where('item_id', '=', query.after)
        .executeTakeFirst();
      if (cursor) select = select.where('position', query.order === 'asc' ? '>' : '<', cursor.position);
    }
    const rows = await select.orderBy('position', query.order).limit(query.limit).execute();
    return rows.map((row) => JSON.parse(row.item) as Record<string, unknown>);
  }

  async deleteResponse(tenantId: string, id: string): Promise<number | undefined> {
    return this.db.transaction().execute(async (transaction) => {
      const deleted = await transaction.deleteFrom('responses').where('tenant_id', '=', tenantId).where('id', '=', id).returning('bytes').executeTakeFirst();
      if (!deleted) return undefined;
      await transaction.deleteFrom('response_input_items').where('response_id', '=', id).execute();
      return Number(deleted.bytes);
    });
  }

  async tenantBytes(tenantId: string, now: number): Promise<number> {
    const query = this.db
      .selectFrom('responses')
      .select((select) => select.fn.sum<number | string | null>('bytes').as('total'))
      .where('tenant_id', '=', tenantId)
      .where('expires_at', '>', now)
      .compile();
    const [row] = await this.read(query);
    return Number(row?.total ?? 0);
  }

  async deleteExpired(now: number, limit: number): Promise<number> {
    const rows = await this.db.selectFrom('responses').select('id').where('expires_at', '<=', now).limit(limit).execute();
    if (rows.length === 0) return 0;
    const ids = rows.map((row) => row.id);
    await this.db.transaction().execute(async (transaction) => {
      await transaction.deleteFrom('response_input_items').where('response_id', 'in', ids).execute();
      await transaction.deleteFrom('responses').where('id', 'in', ids).execute();
    });
    return ids.length;
  }
}

function fromRow(row: Selectable<ResponsesTable>, inputItems: Array<Record<string, unknown>>): StoredResponse {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    keyId: row.key_id,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    status: row.status,
    previousResponseId: row.previous_response_id,
    body: JSON.parse(row.body) as Record<string, unknown>,
    inputItems,
    bytes: Number(row.bytes),
  };
}
