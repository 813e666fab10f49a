/** The Store contract on PostgreSQL: each test in a schema of its own, dropped at the end. */
import { afterAll, expect, test } from 'vitest';
import { dropSchemas, postgresUrl, skipWithoutPostgres, uniqueName } from '../../../test/support/services.js';
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

  test('a wrong URL is refused with the address and the setting to fix', async () => {
    await expect(openPostgresStore('postgres://nobody:secret@127.0.0.1:1/none')).rejects.toThrow(/127\.0\.0\.1:1.*NIMBUS_DATABASE_URL|NIMBUS_DATABASE_URL/);
  });
}
