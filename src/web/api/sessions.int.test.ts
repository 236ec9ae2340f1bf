// Web sessions end to end on a real node: cookie flags, CSRF, idle and absolute timeouts on an
// injected clock, logout, the session list and revocation, TOTP sign-in and its recovery codes.
import { request as httpsRequest } from 'node:https';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../../../test/support/node.js';
import { base32Decode, totp } from '../../security/totp.js';

let now: Date;
let t: TestNode;
const advance = (ms: number) => { now = new Date(now.getTime() + ms); };

interface Browser { cookie?: string; csrf?: string }

async function call(b: Browser, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; setCookie: string | null }> {
  const h: Record<string, string> = { ...headers };
  if (b.cookie) h.cookie = b.cookie;
  if (body !== undefined) h['content-type'] = 'application/json';
  const r = await fetch(t.url + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const setCookie = r.headers.get('set-cookie');
  if (setCookie) {
    const [pair] = setCookie.split(';');
    b.cookie = /=$/.test(pair!) ? undefined : pair;
  }
  const text = await r.text();
  let json: any = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  if (json?.csrfToken) b.csrf = json.csrfToken;
  return { status: r.status, json, setCookie };
}

async function login(username = 'admin', password = t.adminPassword): Promise<Browser> {
  const b: Browser = {};
  const r = await call(b, 'POST', '/api/auth/login', { username, password });
  expect(r.status).toBe(200);
  return b;
}

beforeEach(async () => {
  now = new Date('2026-06-01T08:00:00Z');
  t = await startTestNode({}, { clock: () => now });
});
afterEach(async () => { await t.stop(); });

describe('web sessions', () => {
  it('signs in with a password and sets an HttpOnly, SameSite=Strict session cookie', async () => {
    const b: Browser = {};
    const r = await call(b, 'POST', '/api/auth/login', { username: 'admin', password: t.adminPassword });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ username: 'admin', role: 'admin', groups: [] });
    expect(r.setCookie).toMatch(/^rampart_session=rps_[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const me = await call(b, 'GET', '/api/auth/me');
    expect(me.json).toMatchObject({ username: 'admin', role: 'admin', kind: 'user', method: 'password', csrfToken: b.csrf, mfa: { totp: false } });
  });

  it('refuses a wrong password with a body that says nothing more', async () => {
    const r = await call({}, 'POST', '/api/auth/login', { username: 'admin', password: 'not the password at all' });
    expect([r.status, r.json]).toEqual([401, { error: 'unauthenticated', message: 'authentication required' }]);
    expect((await call({}, 'POST', '/api/auth/login', { username: 'ghost', password: 'not the password at all' })).json).toEqual(r.json);
  });

  it('keeps every other /api route and DICOMweb closed to anonymous callers, and opens DICOMweb to a session', async () => {
    expect((await call({}, 'GET', '/api/auth/me')).status).toBe(401);
    expect((await call({}, 'GET', '/api/nothing-here')).status).toBe(401);
    // No Basic challenge on /api: a browser must not pop up a password dialog over the web app.
    expect((await fetch(`${t.url}/api/auth/me`)).headers.get('www-authenticate')).toBe('Bearer realm="rampart"');
    expect((await fetch(`${t.dicomweb}/studies`)).headers.get('www-authenticate')).toMatch(/Basic realm/);
    expect((await call({}, 'GET', '/dicom-web/studies')).status).toBe(401);
    const b = await login();
    expect((await call(b, 'GET', '/api/nothing-here')).status).toBe(404);
    expect([200, 204]).toContain((await call(b, 'GET', '/dicom-web/studies')).status);
  });

  it('requires the CSRF header on unsafe methods when the cookie authenticates', async () => {
    const b = await login();
    expect((await call(b, 'POST', '/api/auth/logout')).status).toBe(403);
    expect((await call(b, 'POST', '/api/auth/logout', undefined, { 'x-csrf-token': 'A'.repeat(43) })).status).toBe(403);
    expect((await call(b, 'GET', '/api/auth/me')).status).toBe(200); // still signed in
    expect((await call(b, 'POST', '/api/auth/logout', undefined, { 'x-csrf-token': b.csrf! })).status).toBe(200);
  });

  it('ends the session on logout, so the same cookie is refused afterwards', async () => {
    const b = await login();
    const stolen = b.cookie;
    const r = await call(b, 'POST', '/api/auth/logout', undefined, { 'x-csrf-token': b.csrf! });
    expect(r.setCookie).toMatch(/^rampart_session=; .*Max-Age=0$/);
    expect((await call({ cookie: stolen }, 'GET', '/api/auth/me')).status).toBe(401);
    expect((await call({ cookie: stolen }, 'GET', '/dicom-web/studies')).status).toBe(401);
  });

  it('logs off after the idle timeout, but activity keeps the session alive', async () => {
    const b = await login();
    advance(14 * 60_000);
    expect((await call(b, 'GET', '/api/auth/me')).status).toBe(200);
    advance(14 * 60_000);
    expect((await call(b, 'GET', '/api/auth/me')).status).toBe(200);
    advance(15 * 60_000 + 1_000);
    const r = await call(b, 'GET', '/api/auth/me');
    expect(r.status).toBe(401);
    expect(r.setCookie).toMatch(/Max-Age=0/);
  });

  it('logs off at the absolute timeout however active the session is', async () => {
    const b = await login();
    for (let i = 0; i < 12 * 6 - 1; i++) {
      advance(10 * 60_000);
      expect((await call(b, 'GET', '/api/auth/me')).status).toBe(200);
    }
    advance(10 * 60_000);
    expect((await call(b, 'GET', '/api/auth/me')).status).toBe(401);
  });

  it("lists the user's sessions and revokes another one, which stops working at once", async () => {
    const laptop = await login();
    const phone: Browser = {};
    await call(phone, 'POST', '/api/auth/login', { username: 'admin', password: t.adminPassword }, { 'user-agent': 'phone/1.0' });
    const list = await call(laptop, 'GET', '/api/auth/sessions');
    expect(list.json).toHaveLength(2);
    expect(list.json.filter((s: any) => s.current)).toHaveLength(1);
    const other = list.json.find((s: any) => !s.current);
    expect(other).toMatchObject({ ip: expect.stringMatching(/127\.0\.0\.1/), userAgent: 'phone/1.0', method: 'password' });
    expect((await call(laptop, 'DELETE', `/api/auth/sessions/${other.id}`, undefined, { 'x-csrf-token': laptop.csrf! })).status).toBe(200);
    expect((await call(laptop, 'GET', '/api/auth/sessions')).json).toHaveLength(1);
    expect((await call(phone, 'GET', '/api/auth/me')).status).toBe(401);
    expect((await call(laptop, 'DELETE', `/api/auth/sessions/${other.id}`, undefined, { 'x-csrf-token': laptop.csrf! })).status).toBe(404);
  });

  it('ends the other sessions when the password changes, and a removed user\'s session too', async () => {
    const a = await login();
    const b = await login();
    const r = await call(a, 'POST', '/api/auth/password', { currentPassword: t.adminPassword, newPassword: 'a much better passphrase 42' }, { 'x-csrf-token': a.csrf! });
    expect(r.status).toBe(200);
    expect((await call(a, 'GET', '/api/auth/me')).status).toBe(200); // replaced by a fresh session
    expect((await call(b, 'GET', '/api/auth/me')).status).toBe(401);
    await t.node.index.removeUser('admin');
    expect((await call(a, 'GET', '/api/auth/me')).status).toBe(401);
  });
});

describe('TOTP sign-in', () => {
  async function enrol(b: Browser): Promise<{ secret: string; recoveryCodes: string[] }> {
    const e = await call(b, 'POST', '/api/auth/totp/enrol', undefined, { 'x-csrf-token': b.csrf! });
    expect(e.json.uri).toMatch(/^otpauth:\/\/totp\/Rampart:admin\?secret=/);
    expect(e.json.qrSvg).toContain('<svg');
    const code = totp(base32Decode(e.json.secret), now);
    const c = await call(b, 'POST', '/api/auth/totp/confirm', { code }, { 'x-csrf-token': b.csrf! });
    expect(c.status).toBe(200);
    return { secret: e.json.secret, recoveryCodes: c.json.recoveryCodes };
  }

  it('asks for a second factor after the password, and signs in with a fresh cookie only after a valid code', async () => {
    const { secret } = await enrol(await login());
    advance(30_000);
    const b: Browser = {};
    const first = await call(b, 'POST', '/api/auth/login', { username: 'admin', password: t.adminPassword });
    expect(first.json).toEqual({ mfaRequired: true, methods: ['totp', 'recovery'] });
    const pending = b.cookie;
    expect((await call(b, 'GET', '/api/auth/me')).status).toBe(401); // a pending sign-in opens nothing
    expect(b.cookie).toBe(pending); // ... but is not ended by trying
    expect((await call(b, 'POST', '/api/auth/mfa', { code: '000000' === totp(base32Decode(secret), now) ? '111111' : '000000' })).status).toBe(401);
    const code = totp(base32Decode(secret), now);
    const ok = await call(b, 'POST', '/api/auth/mfa', { code });
    expect(ok.status).toBe(200);
    expect(b.cookie).not.toBe(pending);
    expect((await call(b, 'GET', '/api/auth/me')).json).toMatchObject({ method: 'password+totp', mfa: { totp: true, recoveryCodesLeft: 10 } });
    // The same code again, for another sign-in, is a replay.
    const again: Browser = {};
    await call(again, 'POST', '/api/auth/login', { username: 'admin', password: t.adminPassword });
    expect((await call(again, 'POST', '/api/auth/mfa', { code })).status).toBe(401);
    expect((await call({ cookie: pending }, 'POST', '/api/auth/mfa', { code })).status).toBe(401); // the pending cookie was replaced
  });

  it('signs in with a recovery code once', async () => {
    const { recoveryCodes } = await enrol(await login());
    for (const expected of [200, 401]) {
      const b: Browser = {};
      await call(b, 'POST', '/api/auth/login', { username: 'admin', password: t.adminPassword });
      expect((await call(b, 'POST', '/api/auth/mfa', { recoveryCode: recoveryCodes[0] })).status).toBe(expected);
    }
  });

  it('no longer takes the password alone over HTTP Basic once a second factor is set, while API tokens still work', async () => {
    const basic = 'Basic ' + Buffer.from(`admin:${t.adminPassword}`).toString('base64');
    const token = await t.token(['read']);
    await enrol(await login());
    expect((await fetch(`${t.dicomweb}/studies`, { headers: { authorization: basic } })).status).toBe(401);
    expect([200, 204]).toContain((await fetch(`${t.dicomweb}/studies`, { headers: { authorization: `Bearer ${token}` } })).status);
  });
});

describe('over HTTPS', () => {
  it('names the cookie __Host- and marks it Secure', async () => {
    const s = await startTestNode({ 'http.tls': true });
    try {
      const body = JSON.stringify({ username: 'admin', password: s.adminPassword });
      const setCookie = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(s.url + '/api/auth/login', { method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          resolve(String(res.headers['set-cookie']?.[0] ?? ''));
        });
        req.on('error', reject);
        req.end(body);
      });
      expect(setCookie).toMatch(/^__Host-rampart_session=rps_[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure; Max-Age=43200$/);
    } finally {
      await s.stop();
    }
  });
});
