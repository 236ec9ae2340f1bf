// Passkeys end to end with a real authenticator: headless Chromium's virtual authenticator
// (DevTools protocol WebAuthn domain) registers a passkey on a page of Rampart's own origin and
// then answers the second step of a sign-in; the server checks challenge, origin and counter.
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../../../test/support/node.js';

let t: TestNode;
let browser: Browser;
let page: Page;
let origin: string;

beforeAll(async () => {
  t = await startTestNode();
  // WebAuthn needs a secure context and a domain as relying party id: http://localhost is both.
  origin = t.url.replace('127.0.0.1', 'localhost');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  await page.goto(`${origin}/healthz`); // any page of Rampart's origin will do
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

/** Runs in the page: JSON in and out of the WebAuthn API, base64url <-> ArrayBuffer. */
const PAGE_HELPERS = `
  window.b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  window.unb64 = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  window.api = async (method, path, body, csrf) => {
    const headers = { 'content-type': 'application/json' };
    if (csrf) headers['x-csrf-token'] = csrf;
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, json: await r.json().catch(() => null) };
  };
  window.createPasskey = async (o) => {
    const c = await navigator.credentials.create({ publicKey: { ...o, challenge: unb64(o.challenge), user: { ...o.user, id: unb64(o.user.id) },
      excludeCredentials: (o.excludeCredentials || []).map((x) => ({ ...x, id: unb64(x.id) })) } });
    return { id: c.id, rawId: b64(c.rawId), type: c.type, clientExtensionResults: {}, authenticatorAttachment: c.authenticatorAttachment,
      response: { clientDataJSON: b64(c.response.clientDataJSON), attestationObject: b64(c.response.attestationObject), transports: c.response.getTransports() } };
  };
  window.usePasskey = async (o) => {
    const a = await navigator.credentials.get({ publicKey: { ...o, challenge: unb64(o.challenge), allowCredentials: (o.allowCredentials || []).map((x) => ({ ...x, id: unb64(x.id) })) } });
    return { id: a.id, rawId: b64(a.rawId), type: a.type, clientExtensionResults: {}, authenticatorAttachment: a.authenticatorAttachment,
      response: { clientDataJSON: b64(a.response.clientDataJSON), authenticatorData: b64(a.response.authenticatorData), signature: b64(a.response.signature),
        userHandle: a.response.userHandle ? b64(a.response.userHandle) : undefined } };
  };
`;

describe('passkeys as a second factor', () => {
  it('registers a passkey, then signs in with password and passkey, and refuses a replayed assertion', async () => {
    await page.evaluate(PAGE_HELPERS);
    const out = await page.evaluate(async (password) => {
      const w = window as any;
      const login = await w.api('POST', '/api/auth/login', { username: 'admin', password });
      const csrf = login.json.csrfToken;
      const options = await w.api('POST', '/api/auth/passkeys/options', {}, csrf);
      const attestation = await w.createPasskey(options.json);
      const longName = await w.api('POST', '/api/auth/passkeys', { response: attestation, name: 'x'.repeat(65) }, csrf);
      const registered = await w.api('POST', '/api/auth/passkeys', { response: attestation, name: 'virtual key' }, csrf);
      // Replaying the registration (the challenge was used) is refused.
      const again = await w.api('POST', '/api/auth/passkeys', { response: attestation, name: 'again' }, csrf);
      const list = await w.api('GET', '/api/auth/passkeys');
      await w.api('POST', '/api/auth/logout', undefined, csrf);

      const first = await w.api('POST', '/api/auth/login', { username: 'admin', password });
      const meWhilePending = await w.api('GET', '/api/auth/me');
      const aopts = await w.api('POST', '/api/auth/mfa/passkey-options', {});
      if (!aopts.json?.challenge) return { debug: [first, aopts, registered, again, list] };
      const assertion = await w.usePasskey(aopts.json);
      const second = await w.api('POST', '/api/auth/mfa', { passkey: assertion });
      const me = await w.api('GET', '/api/auth/me');
      await w.api('POST', '/api/auth/logout', undefined, second.json.csrfToken);

      // The same assertion again, for a new sign-in with a new challenge, is refused.
      await w.api('POST', '/api/auth/login', { username: 'admin', password });
      await w.api('POST', '/api/auth/mfa/passkey-options', {});
      const replay = await w.api('POST', '/api/auth/mfa', { passkey: assertion });
      // A fresh assertion for that challenge still works (the failed one used the challenge up: ask again).
      const aopts2 = await w.api('POST', '/api/auth/mfa/passkey-options', {});
      const fresh = await w.api('POST', '/api/auth/mfa', { passkey: await w.usePasskey(aopts2.json) });
      return { longName: longName.status, registered: registered.status, again: again.status, list: list.json, first: first.json, meWhilePending: meWhilePending.status,
        second: second.status, me: me.json, replay: replay.status, fresh: fresh.status, challengeLength: aopts.json.challenge.length, rpId: aopts.json.rpId };
    }, t.adminPassword);
    expect(out).not.toHaveProperty('debug');
    expect(out.longName).toBe(400);
    expect(out.registered).toBe(201);
    expect(out.again).toBe(409);
    expect(out.list).toEqual([expect.objectContaining({ name: 'virtual key' })]);
    expect(out.first).toEqual({ mfaRequired: true, methods: ['passkey'] });
    expect(out.meWhilePending).toBe(401);
    expect(out.rpId).toBe('localhost');
    expect(out.second).toBe(200);
    expect(out.me).toMatchObject({ username: 'admin', method: 'password+passkey', mfa: { passkeys: 1 } });
    expect(out.replay).toBe(401);
    expect(out.fresh).toBe(200);
    // The stored counter grew with each use (the virtual authenticator counts).
    const [key] = await t.node.auth.listPasskeys((await t.node.index.getUserByName('admin'))!.id);
    expect(key!.counter).toBeGreaterThanOrEqual(2);
  });

  it('refuses an /api JSON body over 16 KiB with 413 (only a passkey registration may be larger)', async () => {
    const r = await fetch(`${t.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'x'.repeat(17 * 1024) }) });
    expect(r.status).toBe(413);
  });

  it('refuses passkey options without a pending sign-in', async () => {
    const r = await fetch(`${t.url}/api/auth/mfa/passkey-options`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(r.status).toBe(401);
  });
});
