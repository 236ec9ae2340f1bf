// DIMSE command sets (PS3.7 section 6.3 and Annex E): group 0000 elements, always Implicit VR
// Little Endian, with the group length first. Decoding is bounded by the caller's buffer limit.
import { DataSet } from '../../dicom/dataset.js';
import { parseDataSet } from '../../dicom/reader.js';
import { transferSyntaxInfo, TS } from '../../dicom/transfer-syntax.js';
import { writeDataSet } from '../../dicom/writer.js';
import type { VR } from '../../dicom/vr.js';
import { NO_DATA_SET } from './constants.js';

export interface Command {
  commandField: number;
  messageId?: number;
  messageIdBeingRespondedTo?: number;
  affectedSopClassUid?: string;
  requestedSopClassUid?: string;
  affectedSopInstanceUid?: string;
  priority?: number;
  /** True when a data set follows (CommandDataSetType != 0x0101). */
  hasDataSet: boolean;
  status?: number;
  moveDestination?: string;
  moveOriginatorAe?: string;
  moveOriginatorMessageId?: number;
  remaining?: number;
  completed?: number;
  failed?: number;
  warning?: number;
  errorComment?: string;
  offendingElements?: number[];
}

const F = {
  AffectedSOPClassUID: [0x00000002, 'UI'],
  RequestedSOPClassUID: [0x00000003, 'UI'],
  CommandField: [0x00000100, 'US'],
  MessageID: [0x00000110, 'US'],
  MessageIDBeingRespondedTo: [0x00000120, 'US'],
  MoveDestination: [0x00000600, 'AE'],
  Priority: [0x00000700, 'US'],
  CommandDataSetType: [0x00000800, 'US'],
  Status: [0x00000900, 'US'],
  OffendingElement: [0x00000901, 'AT'],
  ErrorComment: [0x00000902, 'LO'],
  AffectedSOPInstanceUID: [0x00001000, 'UI'],
  RemainingSuboperations: [0x00001020, 'US'],
  CompletedSuboperations: [0x00001021, 'US'],
  FailedSuboperations: [0x00001022, 'US'],
  WarningSuboperations: [0x00001023, 'US'],
  MoveOriginatorAE: [0x00001030, 'AE'],
  MoveOriginatorMessageID: [0x00001031, 'US'],
} as const satisfies Record<string, readonly [number, VR]>;

const IMPLICIT = transferSyntaxInfo(TS.ImplicitVRLittleEndian)!;

export class CommandError extends Error {}

/** Decodes a complete command set. Throws CommandError on anything malformed. */
export function decodeCommand(buf: Buffer): Command {
  let ds: DataSet;
  try {
    ds = parseDataSet(buf, IMPLICIT, { limits: { maxDepth: 1, maxElements: 64 } });
  } catch (e) {
    throw new CommandError(`command set does not parse: ${(e as Error).message}`);
  }
  for (const el of ds.elements.values()) {
    if (el.tag >>> 16 !== 0x0000) throw new CommandError('command set holds an element outside group 0000');
    el.vr = vrOf(el.tag); // implicit VR: the command dictionary says what each element is
  }
  const us = (f: readonly [number, VR]) => ds.number(f[0]);
  const str = (f: readonly [number, VR]) => (ds.has(f[0]) ? ds.string(f[0]) : undefined);
  const commandField = us(F.CommandField);
  if (commandField === undefined) throw new CommandError('command set has no Command Field (0000,0100)');
  const dst = us(F.CommandDataSetType);
  if (dst === undefined) throw new CommandError('command set has no Command Data Set Type (0000,0800)');
  return {
    commandField,
    messageId: us(F.MessageID),
    messageIdBeingRespondedTo: us(F.MessageIDBeingRespondedTo),
    affectedSopClassUid: str(F.AffectedSOPClassUID),
    requestedSopClassUid: str(F.RequestedSOPClassUID),
    affectedSopInstanceUid: str(F.AffectedSOPInstanceUID),
    priority: us(F.Priority),
    hasDataSet: dst !== NO_DATA_SET,
    status: us(F.Status),
    moveDestination: str(F.MoveDestination),
    moveOriginatorAe: str(F.MoveOriginatorAE),
    moveOriginatorMessageId: us(F.MoveOriginatorMessageID),
    remaining: us(F.RemainingSuboperations),
    completed: us(F.CompletedSuboperations),
    failed: us(F.FailedSuboperations),
    warning: us(F.WarningSuboperations),
    errorComment: str(F.ErrorComment),
  };
}

const VR_BY_TAG = new Map<number, VR>(Object.values(F).map(([t, vr]) => [t, vr as VR]));
function vrOf(tag: number): VR {
  if (tag === 0x00000000) return 'UL';
  return VR_BY_TAG.get(tag) ?? 'UN';
}

/** Encodes a command set with its group length. */
export function encodeCommand(c: Command): Buffer {
  const ds = new DataSet(true, []);
  const put = (f: readonly [number, VR], v: Buffer) => ds.set({ tag: f[0], vr: f[1], length: v.length, valueOffset: 0, value: v });
  const us = (f: readonly [number, VR], n: number | undefined) => {
    if (n === undefined) return;
    const b = Buffer.alloc(2);
    b.writeUInt16LE(n & 0xffff);
    put(f, b);
  };
  const str = (f: readonly [number, VR], s: string | undefined) => {
    if (s === undefined) return;
    let b = Buffer.from(s, 'latin1');
    if (b.length & 1) b = Buffer.concat([b, Buffer.of(f[1] === 'UI' ? 0 : 0x20)]);
    put(f, b);
  };
  str(F.AffectedSOPClassUID, c.affectedSopClassUid);
  str(F.RequestedSOPClassUID, c.requestedSopClassUid);
  us(F.CommandField, c.commandField);
  us(F.MessageID, c.messageId);
  us(F.MessageIDBeingRespondedTo, c.messageIdBeingRespondedTo);
  str(F.MoveDestination, c.moveDestination);
  us(F.Priority, c.priority);
  us(F.CommandDataSetType, c.hasDataSet ? 0x0000 : NO_DATA_SET);
  us(F.Status, c.status);
  if (c.offendingElements?.length) {
    const b = Buffer.alloc(4 * c.offendingElements.length);
    c.offendingElements.forEach((t, i) => { b.writeUInt16LE(t >>> 16, i * 4); b.writeUInt16LE(t & 0xffff, i * 4 + 2); });
    put(F.OffendingElement, b);
  }
  if (c.errorComment !== undefined) str(F.ErrorComment, c.errorComment.slice(0, 64));
  str(F.AffectedSOPInstanceUID, c.affectedSopInstanceUid);
  us(F.RemainingSuboperations, c.remaining);
  us(F.CompletedSuboperations, c.completed);
  us(F.FailedSuboperations, c.failed);
  us(F.WarningSuboperations, c.warning);
  str(F.MoveOriginatorAE, c.moveOriginatorAe);
  us(F.MoveOriginatorMessageID, c.moveOriginatorMessageId);
  const body = writeDataSet(ds, TS.ImplicitVRLittleEndian);
  const gl = Buffer.alloc(12);
  gl.writeUInt16LE(0x0000, 0); gl.writeUInt16LE(0x0000, 2); gl.writeUInt32LE(4, 4); gl.writeUInt32LE(body.length, 8);
  return Buffer.concat([gl, body]);
}
