/**
 * The responses section of the Store contract: stored `/v1/responses` objects and the input items
 * each added, for `previous_response_id`, retrieval and `input_items`. Every read and write is
 * scoped by tenant (another tenant's response does not exist for a caller), and a response past
 * its retention is gone for reads before the sweep removes it.
 */

/** A stored response: its API object and what the conversation needs of it. */
export interface StoredResponse {
  /** `resp_...`, time-ordered. */
  id: string;
  tenantId: string;
  /** The key that made it (null in local mode): the ledger's owner of its turns. */
  keyId: string | null;
  /** Unix ms. */
  createdAt: number;
  /** Unix ms after which it is gone (the retention). */
  expiresAt: number;
  /** `in_progress` while it runs, then `completed`, `incomplete`, `failed` or `cancelled`. */
  status: string;
  previousResponseId: string | null;
  /** The response object exactly as the API returns it (its `output` is what the model produced). */
  body: Record<string, unknown>;
  /** The input items this request added, in order, each with its `id`. */
  inputItems: Array<Record<string, unknown>>;
  /** Bytes the row takes (body and items as JSON): what the tenant's quota counts. */
  bytes: number;
}

/** A response to write: the store serialises it once and counts its `bytes`. */
export type NewResponse = Omit<StoredResponse, 'bytes'>;

/** Paging of a response's input items, as OpenAI's cursor pages. */
export interface InputItemQuery {
  /** Items after this item id in the chosen order. */
  after?: string | undefined;
  limit: number;
  order: 'asc' | 'desc';
}

/** Persistence of stored responses. */
export interface ResponseStore {
  /**
   * Writes a new response with its input items, atomically (all of it or none of it); resolves to
   * the bytes it takes (body and items as JSON), what `tenantBytes` counts.
   */
  putResponse(response: NewResponse): Promise<number>;
  /**
   * Where the store holds new responses back for a moment to write several in one commit
   * (SQLite: decision 0021), sends them now; a reader about to wait on one calls it first.
   */
  flushWrites?(): void;
  /** Replaces a response's status, body and size (as it completes); false when it is gone (deleted meanwhile). */
  finishResponse(tenantId: string, id: string, update: Pick<StoredResponse, 'status' | 'body' | 'bytes'>): Promise<boolean>;
  /** The response, unless it is another tenant's, deleted or expired at `now`. */
  getResponse(tenantId: string, id: string, now: number): Promise<StoredResponse | undefined>;
  /** A response's input items, a page at a time; undefined when the response does not exist for the caller. */
  listInputItems(tenantId: string, id: string, query: InputItemQuery, now: number): Promise<Array<Record<string, unknown>> | undefined>;
  /** Deletes the response and its input items together; resolves to the bytes it took (what the quota frees), undefined when there was none. */
  deleteResponse(tenantId: string, id: string): Promise<number | undefined>;
  /** Bytes the tenant's unexpired responses take (a sum over them: taken off the request thread where the store can). */
  tenantBytes(tenantId: string, now: number): Promise<number>;
  /** Deletes up to `limit` responses (with their items) that expired before `now`; resolves to how many went. */
  deleteExpired(now: number, limit: number): Promise<number>;
}
