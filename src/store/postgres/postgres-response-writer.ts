/**
 * A stored response's rows on PostgreSQL in one statement (decision 0020): the response's insert
 * in a data-modifying `with`, and its input items from two arrays unnested in order. One round
 * trip where a Kysely transaction took four (begin, two inserts, commit), and atomic as one
 * statement is. The write stays before the response's closing event: another control plane may
 * be asked for the response next. It commits asynchronously (`synchronous_commit` off for this
 * transaction only, decision 0021): visible to every connection at once, as any commit; what a
 * crash of the PostgreSQL server (not of Nimbus) may lose is the last moments of responses, as
 * SQLite at `synchronous = NORMAL` may on power loss. Under load the WAL flush took 4.7-5.6 ms of
 * a stored response's answer here, the asynchronous commit 0.9-2.4 ms.
 */
import { sql, type Kysely } from 'kysely';
import type { ResponseRowWriter } from '../kysely-response-store.js';
import type { Database } from '../schema.js';

export function postgresResponseWriter(db: Kysely<Database>): ResponseRowWriter {
  return async ({ response, items }) => {
    await sql`
      with response as (
        insert into responses (id, tenant_id, key_id, created_at, expires_at, status, previous_response_id, body, bytes)
        select ${response.id}, ${response.tenant_id}, ${response.key_id}, ${response.created_at}, ${response.expires_at},
               ${response.status}, ${response.previous_response_id}, ${response.body}, ${response.bytes}
        -- This statement's transaction commits without waiting for its WAL to reach the disk (decision 0021).
        from (select set_config('synchronous_commit', 'off', true)) as durability
      )
      insert into response_input_items (response_id, tenant_id, position, item_id, item)
      select ${response.id}, ${response.tenant_id}, input.position - 1, input.item_id, input.item
      from unnest(${items.map((item) => item.item_id)}::text[], ${items.map((item) => item.item)}::text[])
        with ordinality as input(item_id, item, position)`.execute(db);
  };
}
