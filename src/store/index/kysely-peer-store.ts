// PeerStore on the index database (SQLite or PostgreSQL), through Kysely.
import type { Kysely } from 'kysely';
import { alreadyExists } from '../../errors.js';
import type { PeerRecord, PeerService, PeerStore } from './peer-store.js';
import type { DB, PeerTable } from './schema.js';

const fromRow = (r: PeerTable): PeerRecord => ({
  aeTitle: r.ae_title, host: r.host, port: r.port, allow: r.allow.split(',').filter(Boolean) as PeerService[],
  tls: r.tls === 1, certFingerprint: r.cert_fingerprint, requireIdentity: r.require_identity === 1, createdAt: r.created_at,
});

export class KyselyPeerStore implements PeerStore {
  constructor(private readonly db: Kysely<DB>) {}

  async addPeer(p: PeerRecord): Promise<void> {
    if (await this.getPeer(p.aeTitle)) throw alreadyExists(`peer ${p.aeTitle} is already registered`);
    await this.db.insertInto('peers').values({
      ae_title: p.aeTitle, host: p.host, port: p.port, allow: p.allow.join(','), tls: p.tls ? 1 : 0,
      cert_fingerprint: p.certFingerprint, require_identity: p.requireIdentity ? 1 : 0, created_at: p.createdAt,
    }).execute();
  }
  async getPeer(aeTitle: string): Promise<PeerRecord | undefined> {
    const r = await this.db.selectFrom('peers').selectAll().where('ae_title', '=', aeTitle).executeTakeFirst();
    return r ? fromRow(r) : undefined;
  }
  async listPeers(): Promise<PeerRecord[]> {
    return (await this.db.selectFrom('peers').selectAll().orderBy('ae_title').execute()).map(fromRow);
  }
  async removePeer(aeTitle: string): Promise<boolean> {
    const r = await this.db.deleteFrom('peers').where('ae_title', '=', aeTitle).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
