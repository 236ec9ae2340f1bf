// `rampart user mfa-reset NAME`, run in-process against a data directory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openNode } from '../app.js';
import { loadConfig } from '../config/schema.js';
import { createUser } from '../security/authenticate.js';
import { base32Decode, totp } from '../security/totp.js';
import { main } from './main.js';

let data: string;
beforeEach(async () => { data = await mkdtemp(join(tmpdir(), 'rampart-mfa-cli-')); });
afterEach(async () => { await rm(data, { recursive: true, force: true }); });

async function rampart(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = { out: (s: string) => { out += s + '\n'; }, err: (s: string) => { err += s + '\n'; }, stdin: Readable.from([]), isTTY: false };
  const code = await main([...args, '--data', data], io);
  return { code, out, err };
}

it('removes a user\'s second factors and ends their sessions, so they can sign in with the password and enrol again', async () => {
  const node = await openNode(loadConfig({ env: {}, overrides: { dataDir: data } }));
  const { user } = await createUser(node.index, 'alice', 'radiologist', 'correct stapler violet 9');
  const e = await node.mfa.beginTotp(user);
  await node.mfa.confirmTotp(user.id, totp(base32Decode(e.secret), new Date()));
  const { secret } = await node.sessions.start(user, { stage: 'full', method: 'password+totp', ip: '127.0.0.1', userAgent: 'test' });
  await node.close();

  const r = await rampart(['user', 'mfa-reset', 'alice']);
  expect(r).toMatchObject({ code: 0, out: 'second factors of alice removed (TOTP, recovery codes, passkeys); 1 session(s) ended\n' });

  const after = await openNode(loadConfig({ env: {}, overrides: { dataDir: data } }));
  try {
    expect(await after.mfa.state(user.id)).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
    await expect(after.sessions.resolve(secret)).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(await after.authenticator.hasSecondFactor(user.id)).toBe(false);
  } finally {
    await after.close();
  }
});

it('says so for an unknown user', async () => {
  expect(await rampart(['user', 'mfa-reset', 'nobody'])).toMatchObject({ code: 1, err: 'rampart: no user nobody\n' });
});
