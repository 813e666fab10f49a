/** The Store contract on PostgreSQL: each test in a schema of its own, dropped at the end. */
import { sql, type Kysely } from 'kysely';
import { afterAll, expect, test } from 'vitest';
import { dropSchemas, postgresUrl, skipWithoutPostgres, uniqueName } from '../../../test/support/services.js';
import { storedResponse } from '../response-store-contract.js';
import { requestLogEntry, runStoreContract } from '../store-contract.js';
import { openPostgresStore } from './open-postgres-store.js';

const skip = await skipWithoutPostgres();
const schemas: string[] = [];
const openFresh = () => {
  const schema = uniqueName('store');
  schemas.push(schema);
  return openPostgresStore(postgresUrl, { schema });
};
const openLast = () => openPostgresStore(postgresUrl, { schema: schemas[schemas.length - 1]! });
afterAll(() => dropSchemas(schemas));

if (skip) test.skip('Store contract: PostgreSQL (no PostgreSQL at 127.0.0.1:5432)', () => undefined);
else {
  runStoreContract('PostgreSQL', openFresh, openLast);

  test('two stores on one schema migrate once, and each sees the other’s rows', async () => {
    const schema = uniqueName('store');
    schemas.push(schema);
    const [first, second] = await Promise.all([openPostgresStore(postgresUrl, { schema }), openPostgresStore(postgresUrl, { schema })]);
    first.recordRequest(requestLogEntry({ id: 'from-first' }));
    await first.flush();
    expect((await second.listRequests()).map((row) => row.id)).toEqual(['from-first']);
    await Promise.all([first.close(), second.close()]);
  });

  test('a stored response commits asynchronously in its own transaction only: its connection is synchronous again after it', async () => {
    const schema = uniqueName('store');
    schemas.push(schema);
    // One connection, so the write and the reads after it share it.
    const store = await openPostgresStore(postgresUrl, { schema, maxConnections: 1 });
    const db = (store as unknown as { db: Kysely<unknown> }).db;
    const setting = async () => (await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(db)).rows[0]!.synchronous_commit;
    expect(await setting()).toBe('on');
    await store.responses.putResponse(storedResponse());
    expect(await setting()).toBe('on');
    expect((await store.responses.getResponse('acme', 'resp_1', 2_000))?.inputItems).toHaveLength(3);
    await store.close();
  });

  test('a wrong URL is refused with the address and the setting to fix', async () => {
    await expect(openPostgresStore('postgres://nobody:secret@127.0.0.1:1/none')).rejects.toThrow(/127\.0\.0\.1:1.*NIMBUS_DATABASE_URL|NIMBUS_DATABASE_URL/);
  });
}
