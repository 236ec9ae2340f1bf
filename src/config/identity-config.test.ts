import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './schema.js';

const load = (overrides: Record<string, unknown> = {}, env: Record<string, string> = {}) => loadConfig({ env, overrides: { dataDir: '/tmp/x', ...overrides } });

describe('identity configuration', () => {
  it('has safe defaults: SSO off, 15 min idle and 12 h absolute sessions, lockout on', () => {
    const c = load();
    expect(c.oidc.issuer).toBeNull();
    expect([c.auth.sessionIdleSeconds, c.auth.sessionAbsoluteSeconds, c.auth.lockout.maxFailures]).toEqual([900, 43200, 10]);
  });

  it('reads the role map and scopes from the environment as JSON and a comma list', () => {
    const c = load({}, {
      RAMPART_OIDC_ISSUER: 'https://idp.example', RAMPART_OIDC_CLIENT_ID: 'rampart', RAMPART_OIDC_SCOPES: 'openid, profile',
      RAMPART_OIDC_ROLE_MAP: '{"pacs-rad":"radiologist"}',
    });
    expect(c.oidc.scopes).toEqual(['openid', 'profile']);
    expect({ ...c.oidc.roleMap }).toEqual({ 'pacs-rad': 'radiologist' });
  });

  it('reads a role map whose claim values contain dots from a configuration file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rampart-cfg-')), 'rampart.json');
    writeFileSync(file, JSON.stringify({ oidc: { issuer: 'https://idp.example', clientId: 'c', rolesClaim: 'realm_access.roles', roleMap: { 'pacs.admins': 'admin' } } }));
    const c = loadConfig({ file, env: {}, overrides: { dataDir: '/tmp/x' } });
    expect([c.oidc.rolesClaim, { ...c.oidc.roleMap }]).toEqual(['realm_access.roles', { 'pacs.admins': 'admin' }]);
  });

  it('refuses a role map naming an unknown role, and unsafe algorithms', () => {
    expect(() => load({ 'oidc.roleMap': { x: 'emperor' } })).toThrow(/oidc.roleMap\["x"\] must be one of/);
    for (const alg of ['none', 'HS256']) expect(() => load({ 'oidc.algorithms': [alg] })).toThrow(/is not allowed/);
  });

  it('refuses an issuer without a client id, a plain-HTTP issuer off loopback, and scopes without openid', () => {
    expect(() => load({ 'oidc.issuer': 'https://idp.example' })).toThrow(/oidc.clientId is required/);
    expect(() => load({ 'oidc.issuer': 'http://idp.example', 'oidc.clientId': 'c' })).toThrow(/must be an https:\/\/ URL/);
    expect(() => load({ 'oidc.issuer': 'https://idp.example', 'oidc.clientId': 'c', 'oidc.scopes': ['profile'] })).toThrow(/must include openid/);
  });

  it('refuses an absolute session limit shorter than the idle one', () => {
    expect(() => load({ 'auth.sessionIdleSeconds': 3600, 'auth.sessionAbsoluteSeconds': 600 })).toThrow(/sessionAbsoluteSeconds/);
  });
});
