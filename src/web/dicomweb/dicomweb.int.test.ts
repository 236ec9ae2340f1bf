// DICOMweb end to end on a real node: every valid sample file of Debian's pydicom goes in
// through STOW-RS and comes back byte for byte through WADO-RS; QIDO-RS matching; errors.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PYDICOM_DATA, multipartBody, splitMultipart, startTestNode, type TestNode } from '../../../test/support/node.js';

const DIRS = [`${PYDICOM_DATA}/test_files`, `${PYDICOM_DATA}/charset_files`];
/** Files pydicom reads but Rampart refuses, each for a reason DCMTK's dcmdump confirms. */
const REFUSED_DESPITE_PYDICOM: Record<string, string> = {
  'MR_truncated.dcm': 'pixel data shorter than its declared length',
  'SC_rgb_jpeg.dcm': 'explicit VR transfer syntax but implicit VR data',
};

interface Verdict { invalid: string | null; uids: [string, string, string] }
function pydicomVerdicts(): Map<string, Verdict> {
  const out = execFileSync('/usr/bin/python3', ['test/support/pydicom-valid.py', ...DIRS], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return new Map(Object.entries(JSON.parse(out) as Record<string, Verdict>));
}

let t: TestNode;
let auth: Record<string, string>;
let verdicts: Map<string, Verdict>;
const studyOf = new Map<string, string>(); // file -> study UID (from STOW response)


beforeAll(async () => {
  t = await startTestNode();
  auth = { authorization: `Bearer ${await t.token()}` };
  verdicts = pydicomVerdicts();
});
afterAll(async () => t?.stop());

describe('closed by default', () => {
  it('answers the liveness check without credentials', async () => {
    const r = await fetch(`${t.url}/healthz`);
    expect(r.status).toBe(200);
  });

  it.each(['/dicom-web/studies', '/dicom-web/studies/1.2.3', '/dicom-web/studies/1.2.3/metadata', '/dicom-web/series', '/dicom-web/instances', '/dicom-web/wado?requestType=WADO', '/', '/nothing-here'])(
    'answers 401 to an anonymous GET %s', async (path) => {
      const r = await fetch(t.url + path);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/Bearer/);
    });

  it('answers 401 to an anonymous STOW-RS and stores nothing', async () => {
    const { body, contentType } = multipartBody([readFileSync(`${DIRS[0]}/CT_small.dcm`)]);
    const r = await fetch(`${t.dicomweb}/studies`, { method: 'POST', body, headers: { 'content-type': contentType } });
    expect(r.status).toBe(401);
    expect((await t.node.index.counts()).instances).toBe(0);
  });

  it('refuses a made-up bearer token and a wrong password', async () => {
    expect((await fetch(`${t.dicomweb}/studies`, { headers: { authorization: 'Bearer rpt_' + 'A'.repeat(43) } })).status).toBe(401);
    const basic = 'Basic ' + Buffer.from('admin:not-the-password').toString('base64');
    expect((await fetch(`${t.dicomweb}/studies`, { headers: { authorization: basic } })).status).toBe(401);
  });

  it('accepts the generated administrator password over Basic', async () => {
    const basic = 'Basic ' + Buffer.from(`admin:${t.adminPassword}`).toString('base64');
    expect((await fetch(`${t.dicomweb}/studies`, { headers: { authorization: basic } })).status).toBe(200);
  });

  it('refuses STOW-RS with a read-only token (403) and DELETE with a write token', async () => {
    const read = { authorization: `Bearer ${await t.token(['read'])}` };
    const { body, contentType } = multipartBody([readFileSync(`${DIRS[0]}/CT_small.dcm`)]);
    expect((await fetch(`${t.dicomweb}/studies`, { method: 'POST', body, headers: { ...read, 'content-type': contentType } })).status).toBe(403);
    const write = { authorization: `Bearer ${await t.token(['read', 'write'])}` };
    expect((await fetch(`${t.dicomweb}/studies/1.2.3`, { method: 'DELETE', headers: write })).status).toBe(403);
  });
});

describe('every valid pydicom sample through STOW-RS and back through WADO-RS', () => {
  it('stores exactly the files an independent reader finds valid, and refuses the rest with a reason', async () => {
    const results = new Map<string, boolean>();
    for (const [file] of verdicts) {
      const { body, contentType } = multipartBody([readFileSync(file)]);
      const r = await fetch(`${t.dicomweb}/studies`, { method: 'POST', body, headers: { ...auth, 'content-type': contentType } });
      const json = await r.json() as Record<string, { Value?: Record<string, { Value?: unknown[] }>[] }>;
      if (r.status === 200) {
        results.set(file, true);
        const url = json['00081199']!.Value![0]!['00081190']!.Value![0] as string;
        studyOf.set(file, /studies\/([0-9.]+)/.exec(url)![1]!);
      } else {
        expect(r.status, basename(file)).toBe(409);
        expect(json['00081198']!.Value![0]!['00081197']!.Value![0], basename(file)).toBeTypeOf('number');
        expect(r.headers.get('warning'), basename(file)).toMatch(/299 rampart/);
        results.set(file, false);
      }
    }
    // Several samples share a SOP Instance UID with other content (JPEG2000.dcm and its variant):
    // the first is stored, a later different one is a reported duplicate (0x0111), never a silent overwrite.
    const firstWithUid = new Map<string, string>();
    for (const [file, v] of verdicts) {
      const name = basename(file);
      const valid = v.invalid === null && !(name in REFUSED_DESPITE_PYDICOM);
      const sop = v.uids[2];
      const first = firstWithUid.get(sop);
      const sameBytes = first !== undefined && readFileSync(first).equals(readFileSync(file));
      const expected = valid && (first === undefined || sameBytes);
      if (valid && first === undefined) firstWithUid.set(sop, file);
      expect(results.get(file), `${name} (pydicom: ${v.invalid ?? 'valid'}${first ? ', duplicate of ' + basename(first) : ''})`).toBe(expected);
    }
    expect(firstWithUid.size).toBeGreaterThan(40);
    for (const name of Object.keys(REFUSED_DESPITE_PYDICOM)) {
      const dump = (() => { try { return execFileSync('dcmdump', [`${DIRS[0]}/${name}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }); } catch (e) { return String((e as { stderr?: string }).stderr ?? e); } })();
      expect(dump, `dcmdump also finds ${name} broken`).toMatch(/^E: /m);
    }
    
  });

  it('returns each stored file byte-identical with transfer-syntax=*, as instance and in its study', async () => {
    for (const file of studyOf.keys()) {
      const [study, series, sop] = verdicts.get(file)!.uids;
      if ([...studyOf.keys()].find((f) => verdicts.get(f)!.uids[2] === sop) !== file) continue; // a duplicate upload
      const r = await fetch(`${t.dicomweb}/studies/${study}/series/${series}/instances/${sop}`, {
        headers: { ...auth, accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
      });
      expect(r.status, basename(file)).toBe(200);
      const parts = splitMultipart(Buffer.from(await r.arrayBuffer()), r.headers.get('content-type')!);
      expect(parts.length).toBe(1);
      expect(parts[0]!.body.equals(readFileSync(file)), basename(file)).toBe(true);
    }
  });

  it('decodes each character set in the metadata as pydicom does', async () => {
    const out = execFileSync('/usr/bin/python3', ['-c', `
import json,sys,pydicom,glob,os
res={}
for f in sorted(glob.glob(sys.argv[1]+'/*.dcm')):
    d=pydicom.dcmread(f)
    if 'PatientName' in d and 'SOPInstanceUID' in d:
        res[os.path.basename(f)]=[str(d.PatientName), str(d.SOPInstanceUID), str(d.StudyInstanceUID)]
print(json.dumps(res))`, DIRS[1]!], { encoding: 'utf8' });
    const expected = JSON.parse(out) as Record<string, [string, string, string]>;
    let checked = 0;
    for (const [name, [pn, , study]] of Object.entries(expected)) {
      if (![...studyOf.keys()].some((f) => f.endsWith('/' + name))) continue;
      const r = await fetch(`${t.dicomweb}/studies/${study}/metadata`, { headers: auth });
      expect(r.status).toBe(200);
      const md = await r.json() as Record<string, { Value?: { Alphabetic?: string; Ideographic?: string; Phonetic?: string }[] }>[];
      const names = md.map((m) => {
        const v = m['00100010']?.Value?.[0];
        return v ? [v.Alphabetic ?? '', v.Ideographic ?? '', v.Phonetic ?? ''].join('=').replace(/=+$/, '') : '';
      });
      expect(names, name).toContain(pn.replace(/=+$/, ''));
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });
});
