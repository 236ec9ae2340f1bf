// The hash-chained trail on disk: written in order, continued across restarts and files, and
// every kind of tampering named by verify.
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, symlink, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../services/audit-port.js';
import { AuditTrail } from './trail.js';
import { describe as describeProblem, verifyTrail } from './verify.js';

const key = generateKeyPairSync('ed25519').privateKey;
const pub = createPublicKey(key);
const ev = (n: number): AuditEvent => ({ action: 'query', outcome: 'success', principal: { kind: 'user', username: `u${n}`, door: 'dicomweb', ip: '127.0.0.1' }, query: { '00100020': `P${n}` } });

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'rampart-trail-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

async function writeTrail(n: number, opts: Partial<Parameters<typeof AuditTrail.open>[0]> = {}) {
  const t = await AuditTrail.open({ dir, signingKey: key, ...opts });
  for (let i = 0; i < n; i++) await t.record(ev(i));
  await t.close();
}
const file = async () => join(dir, (await readdir(dir)).filter((n) => n.startsWith('audit-')).sort()[0]!);
const lines = async () => (await readFile(await file(), 'utf8')).split('\n').filter(Boolean);
const rewrite = async (ls: string[]) => writeFile(await file(), ls.map((l) => l + '\n').join(''));

describe('the audit trail', () => {
  it('chains entries in the order they were recorded, and verify accepts the untouched trail', async () => {
    const t = await AuditTrail.open({ dir, signingKey: key });
    await Promise.all(Array.from({ length: 20 }, (_, i) => t.record(ev(i))));
    await t.close();
    const ls = (await lines()).map((l) => JSON.parse(l));
    expect(ls.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (let i = 1; i < ls.length; i++) expect(ls[i].prev).toBe(ls[i - 1].hash);
    const r = await verifyTrail(dir, pub);
    expect(r).toMatchObject({ ok: true, entries: 20 });
    expect(r.checkpoints).toBeGreaterThan(0);
  });

  it('continues the chain after a restart and across rotated files', async () => {
    await writeTrail(3, { rotateBytes: 1 });
    await writeTrail(3, { rotateBytes: 1 });
    expect((await readdir(dir)).filter((n) => n.startsWith('audit-')).length).toBeGreaterThan(1);
    expect(await verifyTrail(dir, pub)).toMatchObject({ ok: true, entries: 6 });
  });

  it('names an altered entry', async () => {
    await writeTrail(5);
    const ls = await lines();
    ls[2] = ls[2]!.replace('"u2"', '"mallory"');
    await rewrite(ls);
    const r = await verifyTrail(dir, pub);
    expect(r.problem).toMatchObject({ kind: 'altered', seq: 2, line: 3 });
    expect(describeProblem(r.problem!)).toContain('entry 2');
  });

  it('names a removed entry', async () => {
    await writeTrail(5);
    const ls = await lines();
    ls.splice(1, 1);
    await rewrite(ls);
    expect((await verifyTrail(dir, pub)).problem).toMatchObject({ kind: 'removed', missingFrom: 1, missingTo: 1 });
  });

  it('names reordered entries', async () => {
    await writeTrail(5);
    const ls = await lines();
    [ls[1], ls[2]] = [ls[2]!, ls[1]!];
    await rewrite(ls);
    expect((await verifyTrail(dir, pub)).problem).toMatchObject({ kind: 'reordered', seq: 2 });
  });

  it('reports a tail cut off behind the last signed checkpoint', async () => {
    await writeTrail(5);
    await rewrite((await lines()).slice(0, 3));
    expect((await verifyTrail(dir, pub)).problem).toMatchObject({ kind: 'truncated', count: 3, checkpointCount: 5 });
  });

  it('reports a checkpoint whose count was changed after signing', async () => {
    await writeTrail(2);
    const cp = (await readFile(join(dir, 'checkpoints.jsonl'), 'utf8')).split('\n')[0]!;
    await appendFile(join(dir, 'checkpoints.jsonl'), cp.replace(/"count":\d+/, '"count":99') + '\n');
    expect((await verifyTrail(dir, pub)).problem).toMatchObject({ kind: 'bad-checkpoint' });
  });

  it('reports an entry rewritten together with all that follow it, against the signed checkpoint', async () => {
    await writeTrail(3);
    const { makeEntry, GENESIS } = await import('./chain.js');
    const ls = (await lines()).map((l) => JSON.parse(l));
    let prev = GENESIS;
    const forged = ls.map((e, i) => { const x = makeEntry(i, prev, i === 1 ? ev(42) : e.event, e.time); prev = x.hash; return JSON.stringify(x); });
    await rewrite(forged);
    expect((await verifyTrail(dir, pub)).problem).toMatchObject({ kind: 'altered', seq: 2 });
  });

  it('cuts off a torn last line left by a crash and chains on from the last whole entry', async () => {
    await writeTrail(3);
    await appendFile(await file(), '{"seq":3,"time":"2026-');
    const t = await AuditTrail.open({ dir, signingKey: key });
    expect(t.repairedTail).toBe(true);
    await t.record(ev(3));
    await t.close();
    expect(await verifyTrail(dir, pub)).toMatchObject({ ok: true, entries: 4 });
  });

  it('refuses to record when the trail cannot be written (fail closed)', async () => {
    // The second file is the disk-full device: the first entry fits, the rotation that follows does not.
    const t = await AuditTrail.open({ dir, signingKey: key, rotateBytes: 1 });
    await t.record(ev(0));
    await symlink('/dev/full', join(dir, 'audit-000000000001.jsonl'));
    await expect(t.record(ev(1))).rejects.toMatchObject({ code: 'unavailable' });
    await t.close();
  });

  it('lets the access go on when the site chose audit.failOpen', async () => {
    const logged: string[] = [];
    const t = await AuditTrail.open({ dir, signingKey: key, rotateBytes: 1, failOpen: true, log: (m) => logged.push(m) });
    await t.record(ev(0));
    await symlink('/dev/full', join(dir, 'audit-000000000001.jsonl'));
    await expect(t.record(ev(1))).resolves.toBeUndefined();
    expect(logged.join()).toContain('failOpen');
    await t.close();
  });
});
