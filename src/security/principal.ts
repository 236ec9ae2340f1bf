// The Principal: who is acting, through which door, with which role and token scopes.

import type { Role, TokenScope } from '../store/index/account-store.js';

export type Door = 'dicomweb' | 'dimse' | 'cli' | 'api' | 'web';

export const ALL_SCOPES: readonly TokenScope[] = ['read', 'write', 'admin'];

export interface Principal {
  /** 'peer': a DICOM peer known by its registered AE title, without a user identity. */
  kind: 'user' | 'token' | 'system' | 'peer';
  userId: string | null;
  username: string;
  role: Role;
  /** A password login carries all scopes; a token carries the scopes it was issued with. */
  scopes: TokenScope[];
  /** Set only for someone who opened a share link: that one study, viewed or also downloaded. */
  share?: { id: string; studyInstanceUid: string; access: 'view' | 'download' };
  ip?: string;
  door: Door;
  groups?: readonly string[];
}

/**
 * The operator at the command line. The CLI runs with direct access to the data directory,
 * which is already root-equivalent, so checking credentials there would add nothing.
 */
export function systemPrincipal(door: Door = 'cli'): Principal {
  return { kind: 'system', userId: null, username: 'system', role: 'admin', scopes: [...ALL_SCOPES], door };
}
