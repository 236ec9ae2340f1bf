// `rampart user add --group`, `group`, `grant` and `share` as a script runs them, in process
// against a data folder (the same commands the compiled bin runs).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNode } from '../app.js';
import { loadConfig } from '../config/schema.js';
import { systemPrincipal } from '../security/principal.js';
import { makeInstance } from '../../test/support/make-dicom.js';
import type { Io } from './common.js';
import { main } from './main.js';

let data: string;
const A = makeInstance({ PatientID: 'CLI1' });

async function run(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const io: Io = { out: (s) => { out += s + '\n'; }, err: (s) => { err += s + '\n'; }, stdin: Readable.from([Buffer.from(stdin)]), isTTY: false };
  const code = await main([...args, '--data', data], io);
  return { code, out, err };
}

beforeAll(async () => {
  data = await mkdtemp(join(tmpdir(), 'rampart-cli-access-'));
  const node = await openNode(loadConfig({ env: {}, overrides: { dataDir: data } }));
  try {
    expect((await node.ingest.ingest(systemPrincipal(), (async function* () { yield A.bytes; })())).ok).toBe(true);
  } finally {
    await node.close();
  }
});
afterAll(async () => {
  if (data) await rm(data, { recursive: true, force: true });
});

describe('groups from the command line', () => {
  it('adds a user straight into groups, and lists them', async () => {
    expect((await run(['user', 'add', 'dora', '--role', 'referring', '--group', 'ward-7', '--group', 'cardio'], 'correct horse battery staple 4\n')).code).toBe(0);
    const list = await run(['user', 'list']);
    expect(list.out).toMatch(/dora\treferring\t.*groups cardio,ward-7/);
  });

  it('adds to, lists and removes from a group', async () => {
    expect((await run(['group', 'add', 'oncology', 'dora'])).out).toContain('dora added to oncology');
    expect((await run(['group', 'add', 'oncology', 'dora'])).out).toContain('already in');
    expect((await run(['group', 'list'])).out).toContain('oncology\tdora');
    expect((await run(['group', 'remove', 'oncology', 'dora'])).out).toContain('removed from');
    expect((await run(['group', 'list', '--json'])).out).not.toContain('oncology');
  });

  it('refuses a user that does not exist', async () => {
    const r = await run(['group', 'add', 'oncology', 'nobody']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('no such user');
  });
});

describe('grants from the command line', () => {
  it('adds, lists and removes a study grant with an expiry', async () => {
    const add = await run(['grant', 'add', '--user', 'dora', '--study', A.study, '--expires', '30d', '--json']);
    expect(add.code).toBe(0);
    const g = JSON.parse(add.out) as { id: string; expiresAt: string; subjectName: string };
    expect(g.subjectName).toBe('dora');
    expect(Date.parse(g.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect((await run(['grant', 'list'])).out).toContain(`${g.id}\tuser dora\tstudy ${A.study}`);
    expect((await run(['grant', 'remove', g.id])).code).toBe(0);
    expect((await run(['grant', 'list'])).out).not.toContain(g.id);
  });

  it('grants a patient to a group', async () => {
    const r = await run(['grant', 'add', '--group', 'ward-7', '--patient', 'CLI1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/group ward-7 -> patient CLI1, expires never/);
  });

  it('refuses a grant without a subject or target, with exit code 2', async () => {
    expect((await run(['grant', 'add', '--study', A.study])).code).toBe(2);
    expect((await run(['grant', 'add', '--user', 'dora', '--study', 'not-a-uid'])).code).toBe(2);
  });
});

describe('share links from the command line', () => {
  it('prints the link once, lists it with its use and revokes it', async () => {
    const c = await run(['share', 'create', '--study', A.study, '--expires', '7d', '--single-use', '--pin'], '2468\n');
    expect(c.code).toBe(0);
    expect(c.out.trim()).toMatch(/^http:\/\/127\.0\.0\.1:8080\/s\/rsh_[A-Za-z0-9_-]{43}$/);
    expect(c.err).toContain('single use, PIN');
    const id = /share ([0-9a-f-]{36})/.exec(c.err)![1]!;
    const list = await run(['share', 'list']);
    expect(list.out).toContain(`${id}\tstudy ${A.study}\tview\tactive`);
    expect(list.out).toContain('last used never');
    expect(list.out).not.toContain(c.out.trim().split('/s/')[1]);
    expect((await run(['share', 'revoke', id])).code).toBe(0);
    expect((await run(['share', 'list'])).out).toContain(`${id}\tstudy ${A.study}\tview\trevoked`);
  });

  it('answers not found for a study that is not stored', async () => {
    expect((await run(['share', 'create', '--study', '1.2.3.999'])).code).toBe(1);
  });
});

describe('roles and disabling from the command line', () => {
  it('changes a role and disables and enables a user, never leaving no enabled administrator', async () => {
    expect((await run(['user', 'set-role', 'dora', 'admin'])).out).toBe('user dora now has the role admin\n');
    // dora is the only administrator in this data folder now.
    const last = await run(['user', 'set-role', 'dora', 'referring']);
    expect([last.code, last.err]).toEqual([2, 'rampart user: this is the last enabled administrator: make another user an administrator first\n']);
    expect((await run(['user', 'disable', 'dora'])).err).toContain('last enabled administrator');
    expect((await run(['user', 'add', 'erin', '--role', 'admin'], 'correct horse battery staple 5\n')).code).toBe(0);
    expect((await run(['user', 'set-role', 'dora', 'referring'])).code).toBe(0);
    expect((await run(['user', 'disable', 'dora'])).out).toContain('user dora disabled');
    expect((await run(['user', 'list'])).out).toMatch(/^dora\treferring\tdisabled\t/m);
    expect((await run(['user', 'enable', 'dora'])).out).toBe('user dora enabled\n');
    expect((await run(['user', 'list'])).out).toMatch(/^dora\treferring\t2/m);
    expect((await run(['user', 'set-role', 'dora', 'emperor'])).code).toBe(2);
  });

  it('deletes a group, its members leaving it', async () => {
    await run(['group', 'add', 'night-shift', 'dora', 'erin']);
    expect((await run(['group', 'delete', 'night-shift'])).out).toContain('group night-shift deleted: 2 member(s) removed');
    expect((await run(['group', 'list'])).out).not.toContain('night-shift');
    expect((await run(['group', 'delete', 'night-shift'])).code).toBe(1);
  });
});
