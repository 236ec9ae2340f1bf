// The PeerStore port: the DICOM peers (AE titles) allowed to open associations, where they
// must come from, what they may do, and where C-MOVE may send to.

export type PeerService = 'echo' | 'store' | 'find' | 'move' | 'get';
export const PEER_SERVICES: readonly PeerService[] = ['echo', 'store', 'find', 'move', 'get'];

export interface PeerRecord {
  aeTitle: string;
  /** Host name or address the peer connects from, and where C-MOVE sends to. */
  host: string;
  port: number;
  allow: PeerService[];
  /** The peer must come over DICOM TLS (and C-MOVE to it uses TLS). */
  tls: boolean;
  /** SHA-256 of the peer's client certificate (AA:BB:... upper-case), pinned for mutual TLS. */
  certFingerprint: string | null;
  /** The peer must present a user identity (username+passcode or JWT) on each association. */
  requireIdentity: boolean;
  createdAt: string;
}

export interface PeerStore {
  addPeer(p: PeerRecord): Promise<void>; // already-exists if the AE title is taken
  getPeer(aeTitle: string): Promise<PeerRecord | undefined>;
  listPeers(): Promise<PeerRecord[]>;
  removePeer(aeTitle: string): Promise<boolean>;
}
