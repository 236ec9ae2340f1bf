// What a stranger can do once an association is accepted, asked without harm: C-ECHO; a
// universal C-FIND at PATIENT and STUDY level whose answers are counted and dropped unread
// (never parsed, never kept), cancelled after a bound; a C-MOVE of a study that cannot exist to a
// destination nobody registered, and a C-GET of a study that cannot exist, to see whether they
// are refused. Never C-STORE; nothing that could match data is ever retrieved.
import { newUid } from '../dicom/uid.js';
import { writeDataSet } from '../dicom/writer.js';
import type { Association } from '../net/association.js';
import { CommandField, DimseStatus } from '../net/dimse/constants.js';
import { buildIdentifier, parseQueryKey, statusText } from '../net/scu-ops.js';
import { randomAe } from './sniff.js';

export interface FindCount { records: number; status?: number; truncated: boolean; error?: string }

const isPending = (s: number | undefined): boolean => s === DimseStatus.Pending || s === DimseStatus.PendingWithWarnings;

/** Drops a response data set unread: only its arrival is counted. */
async function drain(data: AsyncIterable<Buffer> | undefined): Promise<void> {
  if (data) for await (const _ of data) { /* discarded unread */ }
}

/** Races a request loop against a deadline; at the deadline onLate runs (cancel), then abort after grace. */
async function bounded<T>(assoc: Association, ms: number, work: () => Promise<T>, onLate: () => void): Promise<T> {
  const late = setTimeout(() => {
    onLate();
    setTimeout(() => assoc.abort('scan probe took too long'), 3000).unref();
  }, ms);
  late.unref();
  try {
    return await work();
  } finally {
    clearTimeout(late);
  }
}

export async function echoOver(assoc: Association, contextId: number, sopClass: string, timeoutMs: number): Promise<number> {
  let status: number = DimseStatus.ProcessingFailure;
  await bounded(assoc, timeoutMs, async () => {
    for await (const r of assoc.request(contextId, { commandField: CommandField.CEchoRq, affectedSopClassUid: sopClass, hasDataSet: false })) {
      status = r.command.status ?? status;
      await drain(r.data);
    }
  }, () => assoc.abort('C-ECHO timed out'));
  return status;
}

/**
 * Counts the records a universal C-FIND returns, cancelling (C-CANCEL, PS3.7 9.3.2.3) once
 * maxRecords have come or the time is up. Only the unique key is asked for (PatientID at
 * PATIENT level, StudyInstanceUID at STUDY level), and no answer is ever decoded.
 */
export async function countFind(assoc: Association, contextId: number, sopClass: string, ts: string, level: 'PATIENT' | 'STUDY', maxRecords: number, timeoutMs: number): Promise<FindCount> {
  const key = level === 'PATIENT' ? 'PatientID' : 'StudyInstanceUID';
  const identifier = writeDataSet(buildIdentifier(level, [parseQueryKey(key)]), ts);
  const messageId = assoc.newMessageId();
  const out: FindCount = { records: 0, truncated: false };
  let cancelled = false;
  const cancel = () => {
    if (cancelled) return;
    cancelled = true;
    out.truncated = true;
    void assoc.send(contextId, { commandField: CommandField.CCancelRq, messageIdBeingRespondedTo: messageId, hasDataSet: false }).catch(() => undefined);
  };
  try {
    await bounded(assoc, timeoutMs, async () => {
      for await (const r of assoc.request(contextId, { commandField: CommandField.CFindRq, messageId, affectedSopClassUid: sopClass, priority: 0, hasDataSet: true }, identifier)) {
        out.status = r.command.status;
        await drain(r.data);
        if (isPending(r.command.status)) {
          out.records++;
          if (out.records >= maxRecords) cancel();
        }
      }
    }, cancel);
  } catch (e) {
    out.error = (e as Error).message;
  }
  return out;
}

export interface MoveProbe { status?: number; destination: string; error?: string }

/** C-MOVE of a random (so non-existent) Study Instance UID to a random destination AE. */
export async function moveToUnknown(assoc: Association, contextId: number, sopClass: string, ts: string, timeoutMs: number): Promise<MoveProbe> {
  const destination = randomAe();
  return { destination, ...await retrieveNothing(assoc, contextId, { commandField: CommandField.CMoveRq, affectedSopClassUid: sopClass, moveDestination: destination }, ts, timeoutMs, 'C-MOVE') };
}

/**
 * C-GET of a random (so non-existent) Study Instance UID: nothing can be sent back, but the
 * answer shows whether a stranger's C-GET is refused up front or processed.
 */
export function getNothing(assoc: Association, contextId: number, sopClass: string, ts: string, timeoutMs: number): Promise<{ status?: number; error?: string }> {
  return retrieveNothing(assoc, contextId, { commandField: CommandField.CGetRq, affectedSopClassUid: sopClass }, ts, timeoutMs, 'C-GET');
}

/** Sends one retrieve request for a made-up study and keeps its last status (or the error). */
async function retrieveNothing(
  assoc: Association, contextId: number, command: { commandField: number; affectedSopClassUid: string; moveDestination?: string },
  ts: string, timeoutMs: number, what: string,
): Promise<{ status?: number; error?: string }> {
  const identifier = writeDataSet(buildIdentifier('STUDY', [{ ...parseQueryKey('StudyInstanceUID'), value: newUid() }]), ts);
  const out: { status?: number; error?: string } = {};
  try {
    await bounded(assoc, timeoutMs, async () => {
      for await (const r of assoc.request(contextId, { ...command, priority: 0, hasDataSet: true }, identifier)) {
        out.status = r.command.status;
        await drain(r.data);
      }
    }, () => assoc.abort(`${what} probe timed out`));
  } catch (e) {
    out.error = (e as Error).message;
  }
  return out;
}

/** A C-MOVE or C-GET answer that means "refused" (not success, pending or a warning). */
export const isMoveRefusal = (status: number | undefined): boolean =>
  status !== undefined && !isPending(status) && status !== DimseStatus.Success && (status & 0xf000) !== 0xb000;

export { statusText };
