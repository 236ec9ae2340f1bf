// `rampart scan` against Debian's Orthanc (package orthanc + orthanc-dicomweb) with the access
// settings the Debian package ships, run in a network namespace of its own that has only
// loopback (Orthanc 1.10 binds every address and has no option to bind one). The built CLI runs
// inside the same namespace; nothing outside it is reachable from there.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, buildOnce } from '../../test/support/build.js';
import { makeInstance } from '../../test/support/make-dicom.js';
import { scanReportValidator } from '../../test/support/scan-schema.js';
import type { ScanReport } from './types.js';

let work: string;
let report: ScanReport;
let raw: string;
let text: string;
let code: number;
const inst = makeInstance({ PatientName: 'NARWHAL^OTTILIE', PatientID: 'PIDNARWHAL5' });

// Debian's /etc/orthanc/orthanc.json values for who may do what, written out here.
const config = (dir: string) => ({
  Name: 'scan-test', StorageDirectory: join(dir, 'db'), IndexDirectory: join(dir, 'db'), HttpPort: 8042, DicomPort: 4242,
  DicomAet: 'ORTHANC', DicomCheckCalledAet: false, RemoteAccessAllowed: false, AuthenticationEnabled: false,
  DicomAlwaysAllowEcho: true, DicomAlwaysAllowStore: true, DicomAlwaysAllowFind: false, DicomAlwaysAllowGet: false, DicomAlwaysAllowMove: false,
  Plugins: ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so'], DicomWeb: { Enable: true, Root: '/dicom-web/' },
});

const SCRIPT = `set -u
ip link set lo up
/usr/sbin/Orthanc --logdir="$W" "$W/orthanc.json" > "$W/orthanc.out" 2>&1 &
OP=$!
for i in $(seq 150); do curl -sf -o /dev/null http://127.0.0.1:8042/system && break; sleep 0.2; done
curl -sf -X POST -H 'Expect:' --data-binary @"$W/a.dcm" http://127.0.0.1:8042/instances > /dev/null || echo "upload failed" >&2
node "$REPO/bin/rampart.js" scan 127.0.0.1:4242 --web http://127.0.0.1:8042/ --json "$W/report.json" --timeout 5 > "$W/report.txt" 2> "$W/scan.err"
echo $? > "$W/code"
kill $OP; wait $OP 2>/dev/null
exit 0`;

beforeAll(async () => {
  await buildOnce();
  work = await mkdtemp(join(tmpdir(), 'rampart-scan-orthanc-'));
  await writeFile(join(work, 'orthanc.json'), JSON.stringify(config(work)));
  await writeFile(join(work, 'a.dcm'), inst.bytes);
  await new Promise<void>((resolve, reject) => {
    execFile('unshare', ['-n', 'bash', '-c', SCRIPT], { env: { ...process.env, W: work, REPO }, timeout: 170_000 }, (err, _out, stderr) => {
      if (err) reject(new Error(`the namespace run failed (unshare, Orthanc?): ${err.message}\n${stderr}`));
      else resolve();
    });
  });
  raw = await readFile(join(work, 'report.json'), 'utf8');
  report = JSON.parse(raw) as ScanReport;
  text = await readFile(join(work, 'report.txt'), 'utf8');
  code = Number(await readFile(join(work, 'code'), 'utf8'));
}, 180_000);
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const byId = (id: string) => report.findings.find((f) => f.id === id);

describe('Debian\'s Orthanc as the package ships it', () => {
  it('produces a report the schema accepts, and exit 1 for its high findings', () => {
    const validate = scanReportValidator();
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(code).toBe(1);
  });

  it('accepts any AE title and storage from anyone on its DICOM port', () => {
    const e = report.endpoints.find((x) => x.port === 4242)!;
    expect(e.kind).toBe('dicom');
    expect(e.dicom!.anyCalledAeAccepted).toBe(true);
    expect(byId('dicom-any-ae')?.severity).toBe('medium');
    expect(byId('dicom-store-open')?.severity).toBe('high');
    // DicomAlwaysAllowFind and DicomAlwaysAllowGet are false: C-FIND and C-GET from a stranger are
    // refused although their contexts are accepted, and the scan does not claim otherwise.
    expect(e.dicom!.acceptedServices).toEqual(expect.arrayContaining(['find', 'get']));
    expect(byId('dicom-query-open')).toBeUndefined();
    expect(byId('dicom-retrieve-open')).toBeUndefined();
  });

  it('answers DICOMweb and its REST API without credentials on loopback, counting one study and one patient', () => {
    expect(byId('http-qido-open')?.severity).toBe('high');
    expect(report.web[0]!.openQido[0]!.studies).toBe(1);
    expect(byId('http-patients-open')?.title).toMatch(/1 patient/);
    expect(report.web[0]!.openAdmin.map((a) => a.product)).toContain('Orthanc REST API');
  });

  it('prints none of the stored patient\'s data', () => {
    for (const out of [raw, text]) for (const v of ['NARWHAL', 'OTTILIE', 'PIDNARWHAL5', inst.study]) expect(out).not.toContain(v);
  });
});
