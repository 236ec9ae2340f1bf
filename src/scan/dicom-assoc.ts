// Association acceptance, the way nmap's dicom-ping tests it and then a little further: made-up
// calling and called AE titles first; then well-known default called AE titles from a made-up
// calling AE title; which presentation contexts (verification, storage, query, retrieve) an
// accepted association takes; what its A-ASSOCIATE-AC discloses; and then, on that association,
// the harmless operations of dicom-ops.ts.
import type { ConnectionOptions } from 'node:tls';
import { TS } from '../dicom/transfer-syntax.js';
import { AssociationError, DEFAULT_ASSOCIATION_LIMITS, type Association } from '../net/association.js';
import { SopClass } from '../net/dimse/constants.js';
import { PduType, RejectReason, type AssociateAc, type AssociateRj, type PresentationContextRq } from '../net/pdu/types.js';
import { describeClose, describeConnectError } from '../net/scu-ops.js';
import { openAssociation } from '../net/scu.js';
import { countFind, echoOver, getNothing, isMoveRefusal, moveToUnknown, statusText } from './dicom-ops.js';
import { clean, finding } from './findings.js';
import { randomAe, type Sniffed } from './sniff.js';
import type { DicomInfo, Finding } from './types.js';

/** Called AE titles that products ship with or that examples use (DCMTK, Orthanc, dcm4chee, Conquest, ...). */
export const DEFAULT_CALLED_AES: readonly string[] = [
  'ANY-SCP', 'ORTHANC', 'DCM4CHEE', 'STORESCP', 'DCMQRSCP', 'PACS', 'SERVER', 'CONQUESTSRV1', 'COMMON', 'READWRITE', 'READ', 'ACME_STORE', 'RAMPART',
];

const NATIVE = [TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian];
const CT = '1.2.840.10008.5.1.4.1.1.2', MR = '1.2.840.10008.5.1.4.1.1.4', SC = '1.2.840.10008.5.1.4.1.1.7';

/** One context per service we ask about; the ids are what the answers are read by. */
type ProbeContext = PresentationContextRq & { service: 'echo' | 'find' | 'move' | 'get' | 'store'; label: string };
export const PROBE_CONTEXTS: ProbeContext[] = ([
  { id: 1, abstractSyntax: SopClass.Verification, service: 'echo', label: 'Verification' },
  { id: 3, abstractSyntax: SopClass.PatientRootFind, service: 'find', label: 'Patient Root C-FIND' },
  { id: 5, abstractSyntax: SopClass.StudyRootFind, service: 'find', label: 'Study Root C-FIND' },
  { id: 7, abstractSyntax: SopClass.PatientRootMove, service: 'move', label: 'Patient Root C-MOVE' },
  { id: 9, abstractSyntax: SopClass.StudyRootMove, service: 'move', label: 'Study Root C-MOVE' },
  { id: 11, abstractSyntax: SopClass.PatientRootGet, service: 'get', label: 'Patient Root C-GET' },
  { id: 13, abstractSyntax: SopClass.StudyRootGet, service: 'get', label: 'Study Root C-GET' },
  { id: 15, abstractSyntax: CT, service: 'store', label: 'CT Image Storage' },
  { id: 17, abstractSyntax: MR, service: 'store', label: 'MR Image Storage' },
  { id: 19, abstractSyntax: SC, service: 'store', label: 'Secondary Capture Image Storage' },
] as const).map((c) => ({ ...c, transferSyntaxes: NATIVE }));

export interface AssocProbeOptions {
  address: string;
  port: number;
  /** "host:port" for the findings. */
  target: string;
  tls?: ConnectionOptions;
  timeoutMs: number;
  /** Extra called AE titles to try (an operator's own, the node's for --self). */
  calledAes: string[];
  maxFindRecords: number;
  beforeConnect: () => Promise<void>;
}

function rjWords(rj: AssociateRj): string {
  return describeClose({ kind: 'rejected', rj });
}

function answerWords(a: Sniffed['answer']): string {
  if (!a) return 'no answer';
  if (a.type === PduType.AssociateAc) return 'A-ASSOCIATE-AC (accepted)';
  if (a.type === PduType.AssociateRj) return `A-ASSOCIATE-RJ: ${rjWords(a)}`;
  return `A-ABORT (source ${a.source}, reason ${a.reason})`;
}

async function tryAssociate(o: AssocProbeOptions, calling: string, called: string): Promise<{ assoc?: Association; words: string; rj?: AssociateRj }> {
  await o.beforeConnect();
  try {
    const assoc = await openAssociation({
      host: o.address, port: o.port, callingAeTitle: calling, calledAeTitle: called, contexts: PROBE_CONTEXTS, tls: o.tls,
      connectTimeoutMs: o.timeoutMs, limits: { ...DEFAULT_ASSOCIATION_LIMITS, artimMs: o.timeoutMs, idleMs: o.timeoutMs },
    });
    return { assoc, words: 'A-ASSOCIATE-AC (accepted)' };
  } catch (e) {
    if (e instanceof AssociationError && e.close) {
      return e.close.kind === 'rejected' ? { words: `A-ASSOCIATE-RJ: ${describeClose(e.close)}`, rj: e.close.rj } : { words: describeClose(e.close) };
    }
    return { words: describeConnectError(e) };
  }
}

/** Probes a port already known to speak DICOM (sniffed.answer is its answer to made-up AE titles). */
export async function probeDicom(o: AssocProbeOptions, sniffed: Sniffed): Promise<{ info: DicomInfo; findings: Finding[] }> {
  const evidence: string[] = [];
  const findings: Finding[] = [];
  const info: DicomInfo = { anyCallingAeAccepted: false, anyCalledAeAccepted: false, firstAnswer: answerWords(sniffed.answer), acceptedServices: [], identityRequired: 'unknown' };
  evidence.push(`-> A-ASSOCIATE-RQ calling "${sniffed.callingAe}" called "${sniffed.calledAe}" (both made up), Verification`);
  evidence.push(`<- ${info.firstAnswer}`);

  let assoc: Association | undefined;
  let called = '';
  let calling = '';
  if (sniffed.answer?.type === PduType.AssociateAc) {
    info.anyCallingAeAccepted = info.anyCalledAeAccepted = true;
    calling = randomAe();
    called = randomAe();
    const r = await tryAssociate(o, calling, called);
    evidence.push(`-> A-ASSOCIATE-RQ calling "${calling}" called "${called}" (made up), ${PROBE_CONTEXTS.length} contexts`, `<- ${r.words}`);
    assoc = r.assoc;
  } else {
    // One line per distinct answer, naming the called AE titles that got it.
    const answers = new Map<string, string[]>();
    const confirmed: string[] = [];
    const first = sniffed.answer?.type === PduType.AssociateRj ? sniffed.answer : undefined;
    for (const ae of new Set([...o.calledAes, ...DEFAULT_CALLED_AES])) {
      calling = randomAe();
      const r = await tryAssociate(o, calling, ae);
      answers.set(r.words, [...(answers.get(r.words) ?? []), ae]);
      if (r.assoc) { assoc = r.assoc; called = ae; info.anyCallingAeAccepted = true; break; }
      // "called AE title not recognized" for made-up titles but "calling AE title not recognized" for this one.
      if (first?.source === 1 && first.reason === RejectReason.CalledAeNotRecognized && r.rj?.source === 1 && r.rj.reason === RejectReason.CallingAeNotRecognized) confirmed.push(ae);
    }
    for (const [words, aes] of answers) evidence.push(`-> A-ASSOCIATE-RQ from made-up calling AE titles to called ${aes.map((a) => `"${a}"`).join(', ')}`, `<- ${words}`);
    if (!assoc && confirmed.length) {
      findings.push(finding('dicom-called-ae-revealed', o.target, [
        `made-up called AE titles: ${rjWords(first!)}`,
        `called ${confirmed.map((a) => `"${a}"`).join(', ')}: A-ASSOCIATE-RJ with reason 3 (calling AE title not recognized) instead`,
      ]));
    }
  }
  if (!assoc) {
    findings.push(finding('dicom-rejects-unknown', o.target, evidence));
    return { info, findings };
  }

  info.acceptedCalledAe = info.anyCalledAeAccepted ? undefined : called;
  info.identityRequired = false;
  try {
    const ac: AssociateAc = assoc.ac!;
    const accepted = PROBE_CONTEXTS.filter((c) => ac.contexts.some((x) => x.id === c.id && x.result === 0));
    const tsOf = (id: number) => ac.contexts.find((x) => x.id === id)!.transferSyntax;
    info.acceptedServices = [...new Set(accepted.map((c) => c.service))];
    info.implementationClassUid = clean(ac.userInfo.implementationClassUid);
    if (ac.userInfo.implementationVersionName) info.implementationVersionName = clean(ac.userInfo.implementationVersionName, 16);
    evidence.push(`<- accepted contexts: ${accepted.map((c) => c.label).join(', ') || 'none'}; no user identity was sent`);
    evidence.push(`<- implementation class UID ${info.implementationClassUid}${info.implementationVersionName ? `, version name "${info.implementationVersionName}"` : ''}`);
    const who = info.anyCalledAeAccepted ? 'made-up calling and called AE titles' : `a made-up calling AE title and called AE "${clean(called, 16)}"`;
    findings.push(info.anyCalledAeAccepted
      ? finding('dicom-any-ae', o.target, [...evidence])
      : finding('dicom-default-ae', o.target, [...evidence], { title: `Called AE "${clean(called, 16)}" opens an association from any calling AE title` }));

    if (info.implementationVersionName) findings.push(finding('dicom-version-disclosed', o.target, [`A-ASSOCIATE-AC to ${who}: implementation version name "${info.implementationVersionName}", class UID ${info.implementationClassUid}`]));
    else findings.push(finding('dicom-implementation-disclosed', o.target, [`A-ASSOCIATE-AC to ${who}: implementation class UID ${info.implementationClassUid}`]));

    const echoCtx = accepted.find((c) => c.service === 'echo');
    if (echoCtx) {
      info.echoStatus = await echoOver(assoc, echoCtx.id, echoCtx.abstractSyntax, o.timeoutMs);
    }
    const storeCtxs = accepted.filter((c) => c.service === 'store');
    if (storeCtxs.length) {
      findings.push(finding('dicom-store-open', o.target, [
        `-> A-ASSOCIATE-RQ from ${who} proposing storage contexts`,
        `<- accepted: ${storeCtxs.map((c) => c.label).join(', ')}`,
        'nothing was sent: the scan never issues C-STORE',
      ]));
    }
    const findCtxs = accepted.filter((c) => c.service === 'find');
    if (findCtxs.length) {
      const lines = [`association from ${who}`];
      const counts: NonNullable<DicomInfo['findCounts']> = {};
      let answered = false;
      for (const [level, cls] of [['PATIENT', SopClass.PatientRootFind], ['STUDY', SopClass.StudyRootFind]] as const) {
        const ctx = findCtxs.find((c) => c.abstractSyntax === cls);
        if (!ctx || !assoc.isEstablished) continue;
        const r = await countFind(assoc, ctx.id, cls, tsOf(ctx.id), level, o.maxFindRecords, o.timeoutMs * 2);
        const status = r.status === undefined ? 'no final status' : statusText(r.status);
        lines.push(`-> C-FIND, ${ctx.label.replace(/ C-FIND$/, '')}, level ${level}, ${level === 'PATIENT' ? 'PatientID' : 'StudyInstanceUID'} empty (universal matching)`);
        lines.push(`<- ${r.records} record(s)${r.truncated ? ` (stopped with C-CANCEL at ${o.maxFindRecords})` : ''}, ${status}${r.error ? `; ${r.error}` : ''}; records counted and discarded unread`);
        if (r.records > 0 || r.status === 0 || r.status === 0xfe00) {
          answered = true;
          counts[level === 'PATIENT' ? 'patient' : 'study'] = r.records;
          if (r.truncated) counts.truncated = true;
        }
      }
      if (answered) {
        info.findCounts = counts;
        const n = [counts.patient !== undefined ? `${counts.patient}${counts.truncated ? '+' : ''} patient record(s)` : '', counts.study !== undefined ? `${counts.study}${counts.truncated ? '+' : ''} study record(s)` : ''].filter(Boolean).join(', ');
        findings.push(finding('dicom-query-open', o.target, lines, { title: `Patient records can be queried by anyone: ${n} returned to a stranger` }));
      }
    }
    const getCtx = accepted.find((c) => c.service === 'get' && c.abstractSyntax === SopClass.StudyRootGet) ?? accepted.find((c) => c.service === 'get');
    if (getCtx && assoc.isEstablished) {
      const g = await getNothing(assoc, getCtx.id, getCtx.abstractSyntax, tsOf(getCtx.id), o.timeoutMs);
      const line = [
        `-> A-ASSOCIATE-RQ from ${who} <- accepted: ${accepted.filter((c) => c.service === 'get').map((c) => c.label).join(', ')}`,
        `-> C-GET, ${getCtx.label.replace(/ C-GET$/, '')}, of a random Study Instance UID (matches nothing, so nothing can be sent)`,
        `<- ${g.status === undefined ? `no answer${g.error ? `: ${g.error}` : ''}` : statusText(g.status)}`,
      ];
      if (g.status !== undefined && !isMoveRefusal(g.status)) findings.push(finding('dicom-retrieve-open', o.target, [...line, 'a stranger\'s C-GET is processed, not refused: one that names a real study would return its images']));
      else evidence.push(...line);
    }
    const moveCtx = accepted.find((c) => c.service === 'move' && c.abstractSyntax === SopClass.StudyRootMove) ?? accepted.find((c) => c.service === 'move');
    if (moveCtx && assoc.isEstablished) {
      const m = await moveToUnknown(assoc, moveCtx.id, moveCtx.abstractSyntax, tsOf(moveCtx.id), o.timeoutMs);
      info.moveToUnknownStatus = m.status;
      const line = [`-> C-MOVE, ${moveCtx.label.replace(/ C-MOVE$/, '')}, of a random Study Instance UID (matches nothing) to made-up destination "${m.destination}"`, `<- ${m.status === undefined ? `no answer${m.error ? `: ${m.error}` : ''}` : statusText(m.status)}`];
      if (m.status === 0) {
        // Nothing matched, so nothing was to be sent: some archives check the destination only then.
        findings.push(finding('dicom-move-unchecked', o.target, [...line, 'the request matched nothing, so whether the destination would be checked before sending real images cannot be seen from here'],
          { severity: 'low', title: 'C-MOVE to an unknown destination AE was answered Success (not refused up front)' }));
      } else if (!isMoveRefusal(m.status)) findings.push(finding('dicom-move-unchecked', o.target, line));
      else evidence.push(...line);
    }
  } finally {
    if (assoc.isEstablished) {
      const released = assoc.release().catch(() => undefined);
      const t = setTimeout(() => assoc!.abort('release not confirmed'), o.timeoutMs);
      await released;
      clearTimeout(t);
    }
  }
  return { info, findings };
}
