// `rampart dicom echo|store|find|move|get`: the SCU against any DICOM peer, to test a link or to
// pull studies out of an old archive into this node. A thin wrapper over net/scu-ops.ts: flags,
// files and output here; the DICOM there.
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ConnectionOptions } from 'node:tls';
import { openNode, type Node } from '../app.js';
import type { DataSet } from '../dicom/dataset.js';
import { lookupTag, tagForKeyword } from '../dicom/dictionary.generated.js';
import { datasetToJson, type JsonAttribute } from '../dicom/json.js';
import { isPlausibleUid } from '../dicom/uid.js';
import { tagHex } from '../dicom/tag.js';
import { DICOM_TLS_CIPHERS } from '../dimse-door.js';
import { badRequest, isRampartError } from '../errors.js';
import { DimseStatus, isStorageSopClass, type QueryModel } from '../net/dimse/constants.js';
import {
  COMMON_STORAGE_CLASSES, buildIdentifier, echo, find, get, move, parseQueryKey, part10Header, readPart10Head, statusText, store,
  type InstanceReceiver, type QueryKey, type RetrieveCounts, type RetrieveOutcome, type ScuTarget, type StoreItem,
} from '../net/scu-ops.js';
import { systemPrincipal } from '../security/principal.js';
import { FailureReason } from '../services/ingest.js';
import { configFrom, parse, readSecret, walkFiles, type Io } from './common.js';

export const usage = `rampart dicom echo  --host H --port P [connection options]
rampart dicom store FILE|DIR... --host H --port P [--verbose]
rampart dicom find  --host H --port P [--level STUDY] [--model study|patient] [-k Keyword=Value ...]
rampart dicom move  --host H --port P --dest AE -k StudyInstanceUID=... [--level STUDY]
rampart dicom get   --host H --port P -k StudyInstanceUID=... (--out DIR | --import [--data DIR]) [--sop-class UID ...]
connection options: [--aec CALLED (ANY-SCP)] [--aet CALLING (dimse.aeTitle)] [--tls] [--tls-ca PEM]
  [--tls-cert PEM --tls-key PEM] [--insecure-skip-verify] [--user NAME (password on stdin) | --token-stdin]
  [--timeout SECONDS (30)] [--json]`;

const AE_RE = /^[\x21-\x5b\x5d-\x7e]([\x20-\x5b\x5d-\x7e]{0,14}[\x21-\x5b\x5d-\x7e])?$/;
const LEVEL_KEY: Record<string, string> = { PATIENT: 'PatientID', STUDY: 'StudyInstanceUID', SERIES: 'SeriesInstanceUID', IMAGE: 'SOPInstanceUID' };
/** Return keys a find without -k asks for, per level. */
const DEFAULT_KEYS: Record<string, string[]> = {
  PATIENT: ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'NumberOfPatientRelatedStudies'],
  STUDY: ['PatientName', 'PatientID', 'StudyDate', 'AccessionNumber', 'ModalitiesInStudy', 'StudyDescription', 'NumberOfStudyRelatedInstances'],
  SERIES: ['Modality', 'SeriesNumber', 'SeriesDescription', 'NumberOfSeriesRelatedInstances'],
  IMAGE: ['SOPClassUID', 'InstanceNumber'],
};

const OPTIONS = {
  host: { type: 'string' }, port: { type: 'string' }, aec: { type: 'string' }, aet: { type: 'string' },
  tls: { type: 'boolean', default: false }, 'tls-ca': { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
  'insecure-skip-verify': { type: 'boolean', default: false }, user: { type: 'string' }, 'token-stdin': { type: 'boolean', default: false },
  timeout: { type: 'string' }, verbose: { type: 'boolean', short: 'v', default: false },
  level: { type: 'string' }, model: { type: 'string' }, key: { type: 'string', short: 'k', multiple: true },
  dest: { type: 'string' }, out: { type: 'string' }, import: { type: 'boolean', default: false }, 'sop-class': { type: 'string', multiple: true },
} as const;

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

export async function dicom(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS);
  const [verb, ...paths] = positionals;
  if (values.help || !verb) { io.out(usage); return values.help ? 0 : 2; }
  if (!['echo', 'store', 'find', 'move', 'get'].includes(verb)) { io.err(usage); return 2; }
  if (verb !== 'store' && paths.length) throw badRequest(`${verb} takes no file arguments`);
  const target = await targetFrom(values, io);
  switch (verb) {
    case 'echo': return echoCmd(target, values, io);
    case 'store': return storeCmd(target, values, paths, io);
    case 'find': return findCmd(target, values, io);
    case 'move': return moveCmd(target, values, io);
    default: return getCmd(target, values, io);
  }
}

async function targetFrom(v: Values, io: Io): Promise<ScuTarget> {
  if (!v.host || !v.port) throw badRequest('--host and --port are required');
  if (!/^[A-Za-z0-9.:\-[\]]{1,253}$/.test(v.host)) throw badRequest('--host must be a host name or address');
  const port = Number(v.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw badRequest('--port must be 1-65535');
  const calledAeTitle = v.aec ?? 'ANY-SCP';
  const callingAeTitle = v.aet ?? configFrom(v).dimse.aeTitle;
  for (const [flag, ae] of [['--aec', calledAeTitle], ['--aet', callingAeTitle]] as const) {
    if (!AE_RE.test(ae)) throw badRequest(`${flag} must be an AE title: 1-16 printable characters without backslash`);
  }
  const timeout = v.timeout === undefined ? 30 : Number(v.timeout);
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 86_400) throw badRequest('--timeout is whole seconds, 1 to 86400');
  // Any TLS option means TLS; the server certificate is verified unless the operator says otherwise.
  const useTls = v.tls || v['tls-ca'] !== undefined || v['tls-cert'] !== undefined || v['insecure-skip-verify'];
  if ((v['tls-cert'] === undefined) !== (v['tls-key'] === undefined)) throw badRequest('--tls-cert and --tls-key go together');
  let tls: ConnectionOptions | undefined;
  if (useTls) {
    tls = {
      minVersion: 'TLSv1.2', ciphers: DICOM_TLS_CIPHERS, rejectUnauthorized: !v['insecure-skip-verify'],
      ...(v['tls-ca'] ? { ca: await readFile(v['tls-ca']) } : {}),
      ...(v['tls-cert'] ? { cert: await readFile(v['tls-cert']), key: await readFile(v['tls-key']!) } : {}),
    };
    if (v['insecure-skip-verify']) io.err('warning: the peer\'s certificate is not verified (--insecure-skip-verify)');
  }
  let identity: ScuTarget['identity'];
  if (v.user !== undefined || v['token-stdin']) {
    if (v.user !== undefined && v['token-stdin']) throw badRequest('give --user or --token-stdin, not both');
    // A password or token never crosses the network in clear.
    if (!useTls) throw badRequest('a user identity is sent only over DICOM TLS: add --tls');
    const secret = await readSecret(io, v.user !== undefined ? 'password:' : 'token:');
    if (!secret) throw badRequest(`give the ${v.user !== undefined ? 'password' : 'token'} on standard input`);
    identity = v.user !== undefined
      ? { type: 2, positiveResponseRequested: true, primaryField: Buffer.from(v.user, 'utf8'), secondaryField: Buffer.from(secret, 'utf8') }
      : { type: 5, positiveResponseRequested: true, primaryField: Buffer.from(secret, 'utf8'), secondaryField: Buffer.alloc(0) };
  }
  return { host: v.host, port, calledAeTitle, callingAeTitle, tls, identity, timeoutMs: timeout * 1000 };
}

const where = (t: ScuTarget) => `${t.calledAeTitle}@${t.host}:${t.port}${t.tls ? ' (TLS)' : ''}`;

async function echoCmd(t: ScuTarget, v: Values, io: Io): Promise<number> {
  const r = await echo(t);
  const ok = r.status === DimseStatus.Success;
  if (v.json) io.out(JSON.stringify({ ok, status: r.status, statusText: statusText(r.status), ms: r.ms, associateMs: r.associateMs, ...(t.identity ? { identityConfirmed: r.identityConfirmed } : {}) }));
  else {
    io.out(`C-ECHO ${where(t)}: ${statusText(r.status)}, ${r.ms} ms (association ${r.associateMs} ms)`);
    if (t.identity && !r.identityConfirmed) io.err('note: the peer did not confirm the user identity (it may not have checked it)');
  }
  return ok ? 0 : 1;
}

// ----- store -----


async function headOf(file: string): Promise<Awaited<ReturnType<typeof readPart10Head>>> {
  const fh: FileHandle = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    return await readPart10Head(async (n) => {
      const b = Buffer.alloc(n);
      const { bytesRead } = await fh.read(b, 0, n, 0);
      return b.subarray(0, bytesRead);
    }, size);
  } finally {
    await fh.close();
  }
}

async function storeCmd(t: ScuTarget, v: Values, paths: string[], io: Io): Promise<number> {
  if (paths.length === 0) throw badRequest('store needs FILE or DIR arguments');
  const items: (StoreItem & { file: string })[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const root of paths) {
    try {
      for await (const file of walkFiles(root)) {
        try {
          const h = await headOf(file);
          if (!isStorageSopClass(h.sopClassUid)) { skipped.push({ file, reason: `SOP class ${h.sopClassUid.slice(0, 64)} is not a storage class (a DICOMDIR?)` }); continue; }
          items.push({
            file, sopClassUid: h.sopClassUid, sopInstanceUid: h.sopInstanceUid, transferSyntaxUid: h.transferSyntaxUid,
            // The data set is sent exactly as stored, streamed from disk.
            dataset: () => createReadStream(file, { start: h.datasetOffset, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>,
            part10: () => readFile(file),
          });
        } catch (e) {
          if (!isRampartError(e, 'invalid-dicom')) throw e;
          skipped.push({ file, reason: e.message });
        }
      }
    } catch (e) {
      skipped.push({ file: root, reason: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (e as Error).message });
    }
  }
  const summary = { sent: 0, warnings: 0, failed: 0, skipped: skipped.length };
  const files: { file: string; status: number; statusText: string; error?: string; convertedTo?: string }[] = [];
  if (v.verbose && !v.json) for (const s of skipped) io.err(`skipped ${s.file}: ${s.reason}`);
  if (items.length) {
    await store(t, items, (item, r) => {
      const file = (item as StoreItem & { file: string }).file;
      const ok = !r.error && (r.status === 0 || (r.status & 0xf000) === 0xb000 || r.status === 0x0001 || r.status === 0x0107);
      if (ok && r.status === 0) summary.sent++;
      else if (ok) summary.warnings++;
      else summary.failed++;
      const words = r.error ?? `${statusText(r.status, 'store')}${r.errorComment ? `: ${r.errorComment}` : ''}`;
      files.push({ file, status: r.status, statusText: words, ...(r.convertedTo ? { convertedTo: r.convertedTo } : {}) });
      if (v.json) return;
      if (!ok) io.err(`failed ${file}: ${words}`);
      else if (v.verbose) io.out(`${r.status === 0 ? 'ok' : 'warning'} ${file}: ${words}${r.convertedTo ? ` (sent converted to ${r.convertedTo})` : ''}`);
    });
  }
  if (v.json) io.out(JSON.stringify({ ...summary, ...(v.verbose ? { files } : { failedFiles: files.filter((f) => f.status !== 0) }), skippedFiles: skipped }));
  else io.out(`${where(t)}: ${summary.sent} stored, ${summary.warnings} with warnings, ${summary.failed} failed, ${summary.skipped} skipped (not storable DICOM files)`);
  return summary.failed || items.length === 0 ? 1 : 0;
}

// ----- find, move, get -----

function queryFrom(v: Values, forFind: boolean): { model: QueryModel; level: string; keys: QueryKey[] } {
  const model = (v.model ?? 'study').toLowerCase();
  if (model !== 'study' && model !== 'patient') throw badRequest('--model is study or patient');
  let keys = (v.key ?? []).map(parseQueryKey);
  const levelKey = keys.find((k) => k.tag === 0x00080052);
  const level = (levelKey?.value || v.level || 'STUDY').toUpperCase();
  keys = keys.filter((k) => k !== levelKey);
  if (!LEVEL_KEY[level]) throw badRequest('--level is PATIENT, STUDY, SERIES or IMAGE');
  if (level === 'PATIENT' && model === 'study') throw badRequest('the Study Root model has no PATIENT level: add --model patient');
  if (forFind) {
    if (keys.length === 0) keys = DEFAULT_KEYS[level]!.map(parseQueryKey);
    const unique = tagForKeyword(LEVEL_KEY[level]!)!;
    if (!keys.some((k) => k.tag === unique)) keys.push(parseQueryKey(LEVEL_KEY[level]!));
  } else if (!keys.some((k) => k.value !== '')) {
    throw badRequest(`name what to retrieve: -k ${LEVEL_KEY[level]}=...`);
  }
  return { model, level, keys };
}

function cell(a: JsonAttribute | undefined): string {
  if (!a) return '';
  if (a.vr === 'SQ') return `(${a.Value?.length ?? 0} items)`;
  if (a.InlineBinary !== undefined || a.BulkDataURI !== undefined) return '(binary)';
  return (a.Value ?? []).map((x) => (x === null ? '' : typeof x === 'object' ? Object.values(x as Record<string, string>).join('=') : String(x))).join('\\');
}

async function findCmd(t: ScuTarget, v: Values, io: Io): Promise<number> {
  const q = queryFrom(v, true);
  const columns = q.keys.map((k) => ({ hex: tagHex(k.tag), name: lookupTag(k.tag)?.keyword ?? tagHex(k.tag) }));
  const rows: string[][] = [];
  const r = await find(t, { model: q.model, identifier: buildIdentifier(q.level, q.keys) }, (ds: DataSet) => {
    const json = datasetToJson(ds);
    if (v.json) io.out(JSON.stringify(json));
    else rows.push(columns.map((c) => cell(json[c.hex]).replace(/[\t\r\n]/g, ' ')));
  });
  if (!v.json) {
    const widths = columns.map((c, i) => Math.min(64, Math.max(c.name.length, ...rows.map((row) => row[i]!.length))));
    const line = (cells: string[]) => cells.map((s, i) => (i === cells.length - 1 ? s : s.padEnd(widths[i]!))).join('  ').trimEnd();
    if (rows.length) io.out(line(columns.map((c) => c.name)));
    for (const row of rows) io.out(line(row));
  }
  io.err(`${r.matches} match(es); ${statusText(r.status)}${r.errorComment ? `: ${r.errorComment}` : ''}`);
  return r.status === DimseStatus.Success ? 0 : 1;
}

function printRetrieve(kind: 'move' | 'get', r: RetrieveOutcome, io: Io, v: Values, extra: Record<string, unknown> = {}): void {
  if (v.json) {
    io.out(JSON.stringify({ status: r.status, statusText: statusText(r.status), completed: r.completed, failed: r.failed, warning: r.warning, ...(r.remaining !== undefined ? { remaining: r.remaining } : {}), pendingResponses: r.pendingResponses, failedSopInstanceUids: r.failedSopInstanceUids, ...(r.errorComment ? { errorComment: r.errorComment } : {}), ...extra }));
    return;
  }
  io.out(`C-${kind.toUpperCase()} final: ${statusText(r.status)}${r.errorComment ? `: ${r.errorComment}` : ''}; ${r.completed} completed, ${r.failed} failed, ${r.warning} warning(s)${r.remaining ? `, ${r.remaining} remaining` : ''}`);
  for (const uid of r.failedSopInstanceUids) if (isPlausibleUid(uid)) io.err(`failed: ${uid}`);
}

const pendingPrinter = (kind: 'move' | 'get', v: Values, io: Io) => (c: RetrieveCounts) => {
  if (!v.json) io.out(`C-${kind.toUpperCase()} pending: ${c.remaining ?? '?'} remaining, ${c.completed} completed, ${c.failed} failed, ${c.warning} warning(s)`);
};

async function moveCmd(t: ScuTarget, v: Values, io: Io): Promise<number> {
  if (!v.dest || !AE_RE.test(v.dest)) throw badRequest('--dest AE names the destination (an AE title the peer knows)');
  const q = queryFrom(v, false);
  const r = await move(t, { model: q.model, identifier: buildIdentifier(q.level, q.keys), destination: v.dest }, pendingPrinter('move', v, io));
  printRetrieve('move', r, io, v);
  return r.status === DimseStatus.Success && r.failed === 0 ? 0 : 1;
}

const INGEST_STATUS: Record<number, number> = {
  [FailureReason.DuplicateSOPInstance]: DimseStatus.DuplicateSOPInstance, [FailureReason.OutOfResources]: DimseStatus.OutOfResources,
  [FailureReason.CannotUnderstand]: DimseStatus.CannotUnderstand,
};

async function getCmd(t: ScuTarget, v: Values, io: Io): Promise<number> {
  if (Boolean(v.out) === v.import) throw badRequest('get needs --out DIR (write files) or --import (into this node\'s archive), one of them');
  const q = queryFrom(v, false);
  const extra = v['sop-class'] ?? [];
  const bad = extra.find((u) => !isPlausibleUid(u) || !isStorageSopClass(u));
  if (bad !== undefined) throw badRequest(`--sop-class ${bad.slice(0, 64)} is not a storage SOP class UID`);
  const sopClasses = [...Object.keys(COMMON_STORAGE_CLASSES), ...extra];
  let node: Node | undefined;
  let receive: InstanceReceiver;
  const counts = { stored: 0, duplicates: 0, replaced: 0, written: 0 };
  const principal = systemPrincipal('cli');
  if (v.out) {
    const dir = v.out;
    await mkdir(dir, { recursive: true });
    if (!(await stat(dir)).isDirectory()) throw badRequest(`--out ${dir} is not a folder`);
    let counter = 0;
    receive = async (inst, data) => {
      // File names are ours: a counter, and the SOP Instance UID only when it is digits and dots.
      const uid = isPlausibleUid(inst.sopInstanceUid) ? `-${inst.sopInstanceUid}` : '';
      let fh: FileHandle | undefined;
      let path = '';
      while (!fh) {
        path = join(dir, `${String(++counter).padStart(6, '0')}${uid}.dcm`);
        try { fh = await open(path, 'wx', 0o600); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || counter > 1e7) throw e; }
      }
      try {
        await pipeline(async function* () { yield part10Header(inst, t.calledAeTitle); yield* data; }, fh.createWriteStream());
      } catch {
        await fh.close().catch(() => undefined);
        await unlink(path).catch(() => undefined);
        return { status: DimseStatus.OutOfResources, errorComment: 'could not write the file' };
      }
      counts.written++;
      if (v.verbose && !v.json) io.out(`received ${path}`);
      return { status: DimseStatus.Success };
    };
  } else {
    node = await openNode(configFrom(v));
    const n = node;
    receive = async (inst, data) => {
      async function* source() { yield part10Header(inst, t.calledAeTitle); yield* data; }
      const o = await n.ingest.ingest(principal, source(), { expectSopInstanceUid: inst.sopInstanceUid, expectSopClassUid: inst.sopClassUid });
      if (o.ok) {
        counts[o.status === 'stored' ? 'stored' : o.status === 'duplicate' ? 'duplicates' : 'replaced']++;
        if (v.verbose && !v.json) io.out(`imported ${o.ids.sopInstanceUid} (${o.status})`);
        return { status: DimseStatus.Success };
      }
      if (!v.json) io.err(`not imported${o.ids.sopInstanceUid ? ` ${o.ids.sopInstanceUid}` : ''}: ${o.message}`);
      return { status: INGEST_STATUS[o.reason] ?? DimseStatus.DataSetDoesNotMatchSOPClass, errorComment: o.message };
    };
  }
  let r;
  try {
    r = await get(t, { model: q.model, identifier: buildIdentifier(q.level, q.keys), sopClasses }, receive, pendingPrinter('get', v, io));
  } finally {
    if (node) {
      await node.audit.record({ action: 'import', outcome: r && r.receiveFailed === 0 && r.status === 0 ? 'success' : 'failure', principal, instances: counts.stored, reason: 'c-get' });
      await node.close();
    }
  }
  const received = v.out ? { written: counts.written, folder: v.out } : { stored: counts.stored, duplicates: counts.duplicates, replaced: counts.replaced };
  printRetrieve('get', r, io, v, { received: r.received, receiveFailed: r.receiveFailed, ...received });
  if (!v.json) {
    io.out(v.out
      ? `${counts.written} file(s) written to ${v.out}${r.receiveFailed ? `, ${r.receiveFailed} not written` : ''}`
      : `${counts.stored} imported, ${counts.duplicates} duplicate(s), ${counts.replaced} replaced${r.receiveFailed ? `, ${r.receiveFailed} not imported` : ''}`);
  }
  return r.status === DimseStatus.Success && r.failed === 0 && r.receiveFailed === 0 ? 0 : 1;
}
