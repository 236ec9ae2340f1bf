import { describe, expect, it } from 'vitest';
import { isRampartError } from '../errors.js';
import type { Role, TokenScope } from '../store/index/account-store.js';
import { ACTIONS, authorize, can, visibleScope, type AccessMode } from './policy.js';
import type { Action } from './policy.js';
import { systemPrincipal } from './principal.js';
import type { Principal } from './principal.js';

const ALL: TokenScope[] = ['read', 'write', 'admin'];

function principal(role: Role, scopes: TokenScope[] = ALL): Principal {
  return { kind: scopes === ALL ? 'user' : 'token', userId: 'u1', username: 'someone', role, scopes, door: 'dicomweb' };
}

// What each role may do when logged in with a password (all scopes).
const ROLE_TABLE: Record<Role, Action[]> = {
  admin: ['query', 'view', 'download', 'store', 'delete', 'share', 'administer', 'read-audit'],
  radiologist: ['query', 'view', 'download', 'store', 'share'],
  technologist: ['query', 'view', 'download', 'store'],
  referring: ['query', 'view', 'download'],
  auditor: ['read-audit'],
  external: ['query', 'view', 'download'],
};

describe('the access policy by role', () => {
  for (const [role, allowed] of Object.entries(ROLE_TABLE) as [Role, Action[]][]) {
    for (const action of ACTIONS) {
      const yes = allowed.includes(action);
      it(`${yes ? 'lets' : 'does not let'} a ${role} ${action}`, () => {
        const p = principal(role);
        expect(can(p, action)).toBe(yes);
        if (yes) expect(() => authorize(p, action)).not.toThrow();
        else expect(() => authorize(p, action)).toThrowError(expect.objectContaining({ code: 'access-denied' }));
      });
    }
  }
});

// What an admin's token may do with each set of scopes: the scope is the ceiling.
const SCOPE_TABLE: [TokenScope[], Action[]][] = [
  [['read'], ['query', 'view', 'download']],
  [['write'], ['query', 'view', 'download', 'store']],
  [['admin'], [...ACTIONS]],
  [['read', 'write'], ['query', 'view', 'download', 'store']],
  [[], []],
];

describe('token scopes narrow a role', () => {
  for (const [scopes, allowed] of SCOPE_TABLE) {
    it(`lets an admin token with scopes [${scopes.join(', ')}] do only ${allowed.join(', ') || 'nothing'}`, () => {
      const p = principal('admin', scopes);
      expect(ACTIONS.filter((a) => can(p, a))).toEqual(allowed);
    });
  }

  it('never widens a role: a technologist admin token still cannot delete or share', () => {
    const p = principal('technologist', ['admin']);
    expect(can(p, 'delete')).toBe(false);
    expect(can(p, 'share')).toBe(false);
    expect(can(p, 'store')).toBe(true);
  });

  it('denies a radiologist read token the right to store', () => {
    const p = principal('radiologist', ['read']);
    expect(can(p, 'store')).toBe(false);
    expect(can(p, 'download')).toBe(true);
  });

  it('denies an auditor with a read token even the audit trail', () => {
    expect(can(principal('auditor', ['read']), 'read-audit')).toBe(false);
  });
});

describe('the system principal', () => {
  it('may do everything, as the operator at the CLI', () => {
    const p = systemPrincipal('cli');
    expect(p).toMatchObject({ kind: 'system', userId: null, role: 'admin', door: 'cli' });
    for (const a of ACTIONS) expect(can(p, a)).toBe(true);
  });
});

describe('a refusal', () => {
  it('throws a coded access-denied error that names nothing about the resource', () => {
    try {
      authorize(principal('external'), 'delete');
      expect.unreachable();
    } catch (e) {
      expect(isRampartError(e, 'access-denied')).toBe(true);
      expect(String((e as Error).message)).toBe('access denied');
    }
  });
});

describe('the data a principal sees', () => {
  const now = new Date('2025-06-01T00:00:00.000Z');
  const grants = (p: Principal) => ({ grantees: { userId: p.userId, groups: p.groups ?? [], at: now.toISOString() } });
  const TABLE: [Role, AccessMode, 'all' | 'grants'][] = [
    ['admin', 'role', 'all'], ['admin', 'grants', 'all'],
    ['radiologist', 'role', 'all'], ['radiologist', 'grants', 'grants'],
    ['technologist', 'role', 'all'], ['technologist', 'grants', 'grants'],
    ['referring', 'role', 'grants'], ['referring', 'grants', 'grants'],
    ['external', 'role', 'grants'], ['external', 'grants', 'grants'],
    ['auditor', 'role', 'grants'],
  ];
  for (const [role, mode, sees] of TABLE) {
    it(`shows a ${role} ${sees === 'all' ? 'everything' : 'only its grants'} in ${mode} mode`, () => {
      const p = { ...principal(role), groups: ['cardio'] };
      expect(visibleScope(p, mode, now)).toEqual(sees === 'all' ? undefined : grants(p));
    });
  }

  it('shows the system principal everything', () => {
    expect(visibleScope(systemPrincipal(), 'grants', now)).toBeUndefined();
  });

  it('shows a share link its one study, and lets it download only when the link says so', () => {
    const view: Principal = { ...principal('external', ['read']), userId: null, share: { id: 's', studyInstanceUid: '1.2.3', access: 'view' } };
    expect(visibleScope(view, 'role', now)).toEqual({ studies: ['1.2.3'] });
    expect(ACTIONS.filter((a) => can(view, a))).toEqual(['query', 'view']);
    const dl: Principal = { ...view, share: { id: 's', studyInstanceUid: '1.2.3', access: 'download' } };
    expect(ACTIONS.filter((a) => can(dl, a))).toEqual(['query', 'view', 'download']);
  });
});
