// The administrator's user, group and session controls on a real node: role changes and
// disabling take effect at once at every HTTP door, the last administrator cannot be locked out,
// everyone's sessions can be listed and ended, groups are managed, and each change is audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainEntry } from '../../security/audit/chain.js';
import { createUser } from '../../security/authenticate.js';
import { startTestNode, type TestNode } from '../../../test/support/node.js';

let t: TestNode;
const trail: ChainEntry[] = [];
/** A password that passes the rules (it must not contain the username). */
const pw = (u: string) => `correct horse battery staple #${[...u].map((c) => c.charCodeAt(0)).join('.')}`;
const basic = (u: string) => `Basic ${Buffer.from(`${u}:${pw(u)}`).toString('base64')}`;

interface Browser { cookie?: string; csrf?: string }

async function call(b: Browser, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const h: Record<string, string> = { 'user-agent': 'admin-users test' };
  if (b.cookie) h.cookie = b.cookie;
  if (b.csrf) h['x-csrf-token'] = b.csrf;
  if (body !== undefined) h['content-type'] = 'application/json';
  const r = await fetch(t.url + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const setCookie = r.headers.get('set-cookie');
  if (setCookie) b.cookie = setCookie.split(';')[0];
  const text = await r.text();
  let json: any = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  if (json?.csrfToken) b.csrf = json.csrfToken;
  return { status: r.status, json };
}

async function login(username: string, password = pw(username)): Promise<{ status: number; b: Browser }> {
  const b: Browser = {};
  return { status: (await call(b, 'POST', '/api/auth/login', { username, password })).status, b };
}

const since = (n: number) => trail.slice(n).map((e) => [e.event.action, e.event.outcome, e.event.target, e.event.detail ?? e.event.reason]);

let admin: Browser;
beforeAll(async () => {
  t = await startTestNode();
  t.node.audit.onEntry((e) => trail.push(e));
  for (const [u, role] of [['bob', 'radiologist'], ['carol', 'admin'], ['dave', 'referring']] as const) await createUser(t.node.index, u, role, pw(u));
  admin = (await login('admin', t.adminPassword)).b;
});
afterAll(async () => { await t?.stop(); });

describe('/api/admin: users, sessions and groups', () => {
  it('refuses every new route to a non-administrator with 403', async () => {
    const bob = (await login('bob')).b;
    const n = trail.length;
    for (const [method, path, body] of [
      ['POST', '/api/admin/users/dave/role', { role: 'admin' }], ['POST', '/api/admin/users/dave/disabled', { disabled: true }],
      ['GET', '/api/admin/sessions'], ['DELETE', '/api/admin/sessions/00000000-0000-0000-0000-000000000000'],
      ['GET', '/api/admin/groups'], ['POST', '/api/admin/groups', { group: 'ward', members: ['bob'] }],
      ['DELETE', '/api/admin/groups/ward/members/bob'], ['DELETE', '/api/admin/groups/ward'],
    ] as const) {
      expect([method, path, (await call(bob, method, path, body)).status]).toEqual([method, path, 403]);
    }
    expect((await t.node.index.getUserByName('dave'))).toMatchObject({ role: 'referring', disabled: false });
    expect(since(n).filter(([a]) => a === 'user-change')).toEqual([['user-change', 'failure', 'dave', 'access-denied'], ['user-change', 'failure', 'dave', 'access-denied']]);
    expect(trail.slice(n).filter((e) => e.event.action === 'group-change').map(({ event: e }) => `${e.outcome} ${e.target} ${e.reason} ${e.detail}`)).toEqual([
      'failure ward access-denied member-add bob', 'failure ward access-denied member-remove bob', 'failure ward access-denied group-delete',
    ]);
  });

  it('demotes an administrator, who loses admin API access at the next request, and audits it', async () => {
    const carol = (await login('carol')).b;
    const token = await t.token(['read', 'write', 'admin'], 'carol');
    expect((await call(carol, 'GET', '/api/admin/users')).status).toBe(200);
    const n = trail.length;
    const r = await call(admin, 'POST', '/api/admin/users/carol/role', { role: 'technologist' });
    expect([r.status, r.json]).toMatchObject([200, { username: 'carol', role: 'technologist', disabled: false }]);
    expect((await call(carol, 'GET', '/api/admin/users')).status).toBe(403);
    expect((await fetch(`${t.url}/api/admin/users`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
    expect((await call(carol, 'GET', '/api/whoami')).json).toMatchObject({ role: 'technologist' });
    expect(since(n)).toEqual([['user-change', 'success', 'carol', 'role admin -> technologist']]);
    expect((await call(admin, 'POST', '/api/admin/users/carol/role', { role: 'root' })).status).toBe(400);
  });

  it('will not let the administrator demote or disable themselves, nor leave no enabled administrator', async () => {
    expect((await call(admin, 'POST', '/api/admin/users/admin/role', { role: 'radiologist' })).json.message).toMatch(/from themselves/);
    expect((await call(admin, 'POST', '/api/admin/users/admin/disabled', { disabled: true })).json.message).toMatch(/own account/);
    // carol was demoted above: admin is the only administrator left.
    const carolAdmin = await call(admin, 'POST', '/api/admin/users/carol/role', { role: 'admin' });
    expect(carolAdmin.status).toBe(200);
    const carol = (await login('carol')).b;
    expect((await call(carol, 'POST', '/api/admin/users/admin/disabled', { disabled: true })).status).toBe(200);
    expect((await call(carol, 'POST', '/api/admin/users/carol/role', { role: 'auditor' })).status).toBe(400);
    expect((await call(carol, 'POST', '/api/admin/users/admin/disabled', { disabled: false })).status).toBe(200);
    admin = (await login('admin', t.adminPassword)).b; // disabling ended the old session
    expect((await call(admin, 'GET', '/api/admin/users')).status).toBe(200);
  });

  it('disables a user: password sign-in, Bearer and Basic DICOMweb are refused and their open session ends; enabling restores them', async () => {
    const bob = (await login('bob')).b;
    const token = await t.token(['read'], 'bob');
    const dicomweb = async (authorization: string) => (await fetch(`${t.dicomweb}/studies`, { headers: { authorization } })).status;
    expect([await dicomweb(`Bearer ${token}`), await dicomweb(basic('bob')), (await call(bob, 'GET', '/api/auth/me')).status]).toEqual([200, 200, 200]);
    const n = trail.length;
    expect((await call(admin, 'POST', '/api/admin/users/bob/disabled', { disabled: true })).json).toMatchObject({ username: 'bob', disabled: true });
    expect((await call(bob, 'GET', '/api/auth/me')).status).toBe(401);
    expect([await dicomweb(`Bearer ${token}`), await dicomweb(basic('bob')), (await login('bob')).status]).toEqual([401, 401, 401]);
    // bob's session from the first test is live too.
    expect(since(n)[0]).toEqual(['user-change', 'success', 'bob', 'disable; 2 web session(s) ended']);
    expect((await call(admin, 'GET', '/api/admin/users')).json.find((u: { username: string }) => u.username === 'bob')).toMatchObject({ disabled: true });
    expect((await call(admin, 'POST', '/api/admin/users/bob/disabled', { disabled: false })).status).toBe(200);
    expect([await dicomweb(`Bearer ${token}`), await dicomweb(basic('bob')), (await login('bob')).status]).toEqual([200, 200, 200]);
  });

  it('lists everyone\'s live sessions without secrets, and ends one so its next call answers 401', async () => {
    const dave = (await login('dave')).b;
    const list = (await call(admin, 'GET', '/api/admin/sessions')).json as { id: string; username: string; userAgent: string; ip: string; method: string }[];
    const mine = list.filter((s) => s.username === 'dave');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ userAgent: 'admin-users test', ip: expect.stringMatching(/127\.0\.0\.1/), method: 'password' });
    expect(Object.keys(mine[0]!).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'ip', 'lastSeenAt', 'method', 'userAgent', 'username']);
    expect(JSON.stringify(list)).not.toContain(dave.cookie!.split('=')[1]!);
    const n = trail.length;
    expect((await call(admin, 'DELETE', `/api/admin/sessions/${mine[0]!.id}`)).status).toBe(200);
    expect((await call(dave, 'GET', '/api/auth/me')).status).toBe(401);
    expect((await call(admin, 'DELETE', `/api/admin/sessions/${mine[0]!.id}`)).status).toBe(404);
    expect(since(n)).toEqual([['session-revoke', 'success', 'dave', undefined], ['session-revoke', 'failure', undefined, 'not-found']]);
  });

  it('creates a group with members, adds and removes one, deletes it, and audits group-change', async () => {
    const n = trail.length;
    expect((await call(admin, 'POST', '/api/admin/groups', { group: 'cardio/ward-2', members: ['bob', 'dave'] })).json).toEqual({ group: 'cardio/ward-2', added: ['bob', 'dave'] });
    expect((await call(admin, 'POST', '/api/admin/groups', { group: 'cardio/ward-2', members: ['carol', 'bob'] })).json.added).toEqual(['carol']);
    expect((await call(admin, 'POST', '/api/admin/groups', { group: 'ward', members: ['nobody'] })).status).toBe(404);
    expect((await call(admin, 'GET', '/api/admin/groups')).json).toEqual([{ group: 'cardio/ward-2', members: expect.arrayContaining(['bob', 'carol', 'dave']) }]);
    const g = encodeURIComponent('cardio/ward-2');
    expect((await call(admin, 'DELETE', `/api/admin/groups/${g}/members/dave`)).status).toBe(200);
    expect((await call(admin, 'DELETE', `/api/admin/groups/${g}/members/dave`)).status).toBe(404);
    expect(await t.node.accessStore.groupsOf((await t.node.index.getUserByName('bob'))!.id)).toEqual(['cardio/ward-2']);
    expect((await call(admin, 'DELETE', `/api/admin/groups/${g}`)).json).toEqual({ removedMembers: 2 });
    expect((await call(admin, 'GET', '/api/admin/groups')).json).toEqual([]);
    expect((await call(admin, 'DELETE', `/api/admin/groups/${g}`)).status).toBe(404);
    expect(trail.slice(n).filter((e) => e.event.action === 'group-change').map(({ event: e }) => `${e.outcome} ${e.target} ${e.reason} ${e.detail ?? ''}`)).toEqual([
      'success cardio/ward-2 member-add bob', 'success cardio/ward-2 member-add dave', 'success cardio/ward-2 member-add carol',
      'success cardio/ward-2 member-add bob', 'failure ward not-found member-add nobody', 'success cardio/ward-2 member-remove dave',
      'failure cardio/ward-2 member-remove dave', 'success cardio/ward-2 group-delete ', 'failure cardio/ward-2 not-found group-delete',
    ]);
  });
});
