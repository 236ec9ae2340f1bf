// Runs the IndexStore/AccountStore contract against a real PostgreSQL server started for this file,
// one fresh database per test. Fails (does not skip) when the server binaries are missing.

import { afterAll, beforeAll } from 'vitest';
import { runAuthStoreContract } from './auth-store.contract.js';
import { runAccessStoreContract } from './access-store.contract.js';
import { runIndexStoreContract } from './index-store.contract.js';
import { KyselyAuthStore } from './kysely-auth-store.js';
import { openPostgresIndex } from './postgres.js';

/** The shape of test/support/postgres.ts. */
interface RunningPostgres { url: string; createDatabase(name: string): Promise<string>; stop(): Promise<void> }

// Imported by a computed path because tsconfig.json's rootDir is src/ and would reject a static
// import from test/ (TS6059); vitest resolves it either way.
const support = new URL('../../../test/support/postgres.ts', import.meta.url).href;
let server: RunningPostgres | undefined;
let databases = 0;

beforeAll(async () => {
  const { startPostgres } = (await import(support)) as { startPostgres: () => Promise<RunningPostgres> };
  server = await startPostgres();
});

afterAll(async () => {
  await server?.stop();
});

runIndexStoreContract('PostgreSQL', async () => {
  if (server === undefined) throw new Error('PostgreSQL server did not start');
  const store = await openPostgresIndex(await server.createDatabase(`contract_${++databases}`));
  return { store, cleanup: () => store.close() };
});

runAuthStoreContract('PostgreSQL', async () => {
  if (server === undefined) throw new Error('PostgreSQL server did not start');
  const index = await openPostgresIndex(await server.createDatabase(`auth_${++databases}`));
  return { store: new KyselyAuthStore(index.db), cleanup: () => index.close() };
});

runAccessStoreContract('PostgreSQL', async () => {
  if (server === undefined) throw new Error('PostgreSQL server did not start');
  const store = await openPostgresIndex(await server.createDatabase(`access_${++databases}`));
  return { store, cleanup: () => store.close() };
});
