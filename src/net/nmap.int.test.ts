// nmap's DICOM scripts (Debian package nmap) against a real node: dicom-ping must see the called
// AE title checked, and dicom-brute must find no AE title that opens an association. nmap
// missing is a failure, not a skip: scripts/test.sh installs it.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../../test/support/node.js';

let t: TestNode;
let port: string;
let work: string;

/** Runs nmap asynchronously (the listener lives in this process) with bounded time; never skips. */
function nmap(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('nmap', ['-Pn', '-n', '-sT', '-p', port, ...args, '127.0.0.1'], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') reject(new Error('nmap is not installed: apt-get install nmap (scripts/test.sh does)'));
      else if (err) reject(new Error(`nmap failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** dicom-brute, its word list bounded by size and time. */
async function brute(words: string[], extraArgs = ''): Promise<string> {
  const list = join(work, 'aets.txt');
  await writeFile(list, words.join('\n') + '\n');
  return nmap(['--script', '+dicom-brute', '--script-args', `passdb=${list},userdb=${list},unpwdb.timelimit=30s${extraArgs}`, '--script-timeout', '60s']);
}

// '+' forces the scripts to run: their port rule only knows the usual DICOM ports.
const ping = (args = '') => nmap(['--script', '+dicom-ping', ...(args ? ['--script-args', args] : [])]);

const WORDS = ['ANY-SCP', 'ORTHANC', 'STORESCP', 'PACS', 'DCM4CHEE', 'SERVER', 'DICOM', 'ECHOSCU', 'RAMPART'];

beforeAll(async () => {
  // nmap leaves each refused connection open (until ARTIM closes it) and guesses in parallel; the
  // per-peer limit would then refuse later guesses as "local limit exceeded", so it is raised here
  // for every guess to be judged on its AE titles alone.
  t = await startTestNode({ 'dimse.artimSeconds': 2, 'dimse.maxAssociationsPerPeer': 32 }, { dimse: true });
  port = String(t.dimse!.ports.tcp);
  work = await mkdtemp(join(tmpdir(), 'rampart-nmap-'));
  await t.node.peers.addPeer({ aeTitle: 'GOOD', host: '127.0.0.1', port: 1, tls: false, certFingerprint: null, requireIdentity: false, createdAt: new Date().toISOString(), allow: ['echo'] });
});
afterAll(async () => {
  await t?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});
afterEach(async () => {
  // nmap does not release; the listener must still drop every association it opened.
  const deadline = Date.now() + 15_000;
  while (t.dimse!.active() !== 0) {
    if (Date.now() > deadline) throw new Error('associations left open after nmap');
    await new Promise((r) => setTimeout(r, 50));
  }
});

describe('nmap dicom-ping', () => {
  it('reports the called AE title check enabled', async () => {
    const out = await ping();
    expect(out).toMatch(/dicom-ping:/);
    expect(out).toMatch(/Called AET check enabled/);
    expect(out).not.toMatch(/Any AET is accepted/);
  });

  it('is still refused with our real called AE title, from an unregistered calling AE title', async () => {
    const out = await ping('dicom.called_aet=RAMPART');
    expect(out).toMatch(/Called AET check enabled/);
    expect(out).not.toMatch(/Any AET is accepted/);
  });

  it('tells an accepted association apart (control: a registered peer with the right title)', async () => {
    // nmap words any accept this way; here it is the one legitimate combination.
    const out = await ping('dicom.called_aet=RAMPART,dicom.calling_aet=GOOD');
    expect(out).toMatch(/Any AET is accepted/);
  });
});

describe('nmap dicom-brute', () => {
  it('finds no valid AE title, even with ours in the word list', async () => {
    const out = await brute(WORDS);
    expect(out).toMatch(/dicom-brute:/);
    expect(out).toMatch(/Performed \d+ guesses/);
    expect(out).toMatch(/No valid accounts found/);
    expect(out).not.toMatch(/Valid credentials/);
  });

  it('would find it from a registered calling AE title (control)', async () => {
    const out = await brute(WORDS, ',dicom.calling_aet=GOOD');
    expect(out).toMatch(/Called Application Entity Title:RAMPART - Valid credentials/);
  });
});
