// The DICOMweb access matrix (access-matrix.contract.ts) on PostgreSQL, whose SQL for the data
// scope differs from SQLite's in planning and types. Fails (does not skip) without the server binaries.
import { dicomWebAccessMatrix } from './access-matrix.contract.js';

// Imported by a computed path: tsconfig.json's rootDir is src/ (see postgres.int.test.ts).
const support = new URL('../../test/support/postgres.ts', import.meta.url).href;
let stop: (() => Promise<void>) | undefined;

dicomWebAccessMatrix('PostgreSQL', async () => {
  const { startPostgres } = (await import(support)) as { startPostgres: () => Promise<{ url: string; stop(): Promise<void> }> };
  const pg = await startPostgres();
  stop = () => pg.stop();
  return { 'index.url': pg.url };
}, async () => { await stop?.(); });
