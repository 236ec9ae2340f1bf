// Runs the IndexStore/AccountStore contract on a SQLite file in a temporary directory.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAuthStoreContract } from './auth-store.contract.js';
import { runAccessStoreContract } from './access-store.contract.js';
import { runIndexStoreContract } from './index-store.contract.js';
import { KyselyAuthStore } from './kysely-auth-store.js';
import { openSqliteIndex } from './sqlite.js';

runIndexStoreContract('SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rampart-index-'));
  const store = await openSqliteIndex(join(dir, 'index.sqlite'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

runAuthStoreContract('SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rampart-auth-'));
  const index = await openSqliteIndex(join(dir, 'index.sqlite'));
  return {
    store: new KyselyAuthStore(index.db),
    cleanup: async () => {
      await index.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

runAccessStoreContract('SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rampart-access-'));
  const store = await openSqliteIndex(join(dir, 'index.sqlite'));
  return { store, cleanup: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
});
