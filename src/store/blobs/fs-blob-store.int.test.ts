import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBlobStoreContract } from './blob-store.contract.js';
import { FsBlobStore } from './fs-blob-store.js';

runBlobStoreContract('filesystem', async () => new FsBlobStore(await mkdtemp(join(tmpdir(), 'rampart-blobs-'))).init());
