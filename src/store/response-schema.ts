/** Table types of the responses section (migration 0029), for Kysely; JSON columns hold text. */

export interface ResponsesTable {
  id: string;
  tenant_id: string;
  key_id: string | null;
  created_at: number;
  expires_at: number;
  status: string;
  previous_response_id: string | null;
  /** JSON: the response object as the API returns it. */
  body: string;
  bytes: number;
}

export interface ResponseInputItemsTable {
  response_id: string;
  tenant_id: string;
  /** Order within the response's input, from 0. */
  position: number;
  item_id: string;
  /** JSON: the item as `input_items` returns it. */
  item: string;
}

/** The responses section's tables, merged into `Database`. */
export interface ResponseTables {
  responses: ResponsesTable;
  response_input_items: ResponseInputItemsTable;
}
