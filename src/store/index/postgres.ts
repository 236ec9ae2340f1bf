// Opens the PostgreSQL index (for scale): a pg connection pool behind Kysely.

import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { KyselyIndexStore, migrated } from './kysely-index-store.js';
import type { DB } from './schema.js';

export async function openPostgresIndex(url: string): Promise<KyselyIndexStore> {
  const pool = new pg.Pool({ connectionString: url });
  const store = new KyselyIndexStore(new Kysely<DB>({ dialect: new PostgresDialect({ pool }) }), 'postgres');
  return migrated(store);
}
