// Opens the SQLite index (the default): one file, WAL, and fsync on every commit.

import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyIndexStore, migrated } from './kysely-index-store.js';
import { SqliteFastInsert } from './sqlite-fast-insert.js';
import type { DB } from './schema.js';

export async function openSqliteIndex(file: string): Promise<KyselyIndexStore> {
  const database = new Database(file);
  database.pragma('journal_mode = WAL');
  // FULL: a committed index write survives a power loss, not only a process crash.
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  // PostgreSQL's LIKE is case-sensitive; make SQLite's the same (names match on *_norm columns).
  database.pragma('case_sensitive_like = ON');
  cacheStatements(database);
  const store = new KyselyIndexStore(new Kysely<DB>({ dialect: new SqliteDialect({ database }) }), 'sqlite', new SqliteFastInsert(database));
  return migrated(store);
}

/**
 * Kysely prepares every query anew; better-sqlite3 statements can be reused, and the same few
 * SQL texts run for every stored instance. Bounded: queries with long IN lists vary.
 */
function cacheStatements(database: Database.Database, max = 256): void {
  const prepare = database.prepare.bind(database);
  const cache = new Map<string, Database.Statement>();
  database.prepare = ((source: string) => {
    let st = cache.get(source);
    if (st) {
      cache.delete(source);
      cache.set(source, st); // most recently used last
      return st;
    }
    st = prepare(source);
    if (cache.size >= max) cache.delete(cache.keys().next().value as string);
    cache.set(source, st);
    return st;
  }) as typeof database.prepare;
}
