// Audit trail write rate: entries recorded per second by one writer, one caller at a time (a
// serial C-STORE stream) and 16 at once (many associations). Run after `npm run build`:
//   node bench/audit-trail.mjs
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditTrail } from '../dist/security/audit/trail.js';

const dir = await mkdtemp(join(tmpdir(), 'bench-trail-'));
const t = await AuditTrail.open({ dir, signingKey: generateKeyPairSync('ed25519').privateKey });
const ev = { action: 'store', outcome: 'success', principal: { kind: 'peer', username: 'MODALITY', door: 'dimse', ip: '127.0.0.1' },
  studies: ['1.2.840.113619.2.55.3.604688119.969.1268071029.320'], instances: 1, patients: [{ id: 'PID123', name: 'Doe^Jane' }],
  sopClasses: { '1.2.840.10008.5.1.4.1.1.2': 1 } };
for (const conc of [1, 16]) {
  const n = 20_000;
  const t0 = performance.now();
  let i = 0;
  await Promise.all(Array.from({ length: conc }, async () => { while (i++ < n) await t.record(ev); }));
  console.log(`concurrency ${conc}: ${Math.round(n / ((performance.now() - t0) / 1000))} entries/s`);
}
await t.close();
await rm(dir, { recursive: true });
