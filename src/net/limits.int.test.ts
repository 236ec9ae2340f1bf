// The DIMSE listener's limits on a real node, with small values set through configuration:
// associations in total and per peer, idle time, maximum PDU length, operations queued,
// C-CANCEL of a running C-FIND, failures that stay inside one operation, and a 300 MB C-STORE
// that streams through without the server holding it in memory.
import { createHash } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePart10 } from '../dicom/reader.js';
import { newUid } from '../dicom/uid.js';
import { writeDataSet } from '../dicom/writer.js';
import { makeDataSet, makeInstance } from '../../test/support/make-dicom.js';
import { startTestNode, type TestNode } from '../../test/support/node.js';
import { Association, type IncomingMessage } from './association.js';
import { encodeCommand } from './dimse/command.js';
import { pdataPduHeader } from './pdu/codec.js';
import { DICOM_APPLICATION_CONTEXT, PduType, type PresentationContextRq } from './pdu/types.js';
import { openAssociation } from './scu.js';

const HOST = '127.0.0.1';
const AEC = 'RAMPART';
const VERIFICATION = '1.2.840.10008.1.1';
const CT = '1.2.840.10008.5.1.4.1.1.2';
const STUDY_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const EXPLICIT = '1.2.840.10008.1.2.1';
const IMPLICIT = '1.2.840.10008.1.2';
const BOUND_MS = 15_000;
/** The local limit exceeded rejection: transient, service-provider (presentation), reason 2 (PS3.8 Table 9-21). */
const LIMIT_RJ = { kind: 'rejected', rj: { result: 2, source: 3, reason: 2 } };

const ECHO_CTX: PresentationContextRq = { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [EXPLICIT, IMPLICIT] };
const STORE_CTX: PresentationContextRq = { id: 3, abstractSyntax: CT, transferSyntaxes: [EXPLICIT] };
const FIND_CTX: PresentationContextRq = { id: 5, abstractSyntax: STUDY_FIND, transferSyntaxes: [EXPLICIT] };
const ALL_CTX = [ECHO_CTX, STORE_CTX, FIND_CTX];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
/** Bounds a wait on something the listener must do by itself. */
function bounded<T>(what: string, p: Promise<T>): Promise<T> {
  return Promise.race([p, sleep(BOUND_MS).then(() => { throw new Error(`timed out waiting for ${what}`); })]);
}

const assocTo = (t: TestNode, callingAeTitle = 'GOOD', contexts = ALL_CTX) =>
  openAssociation({ host: HOST, port: t.dimse!.ports.tcp!, callingAeTitle, calledAeTitle: AEC, contexts });

/** An association from another loopback address (Rampart's SCU has no local address option). */
async function assocFrom(t: TestNode, localAddress: string, callingAeTitle: string): Promise<Association> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = netConnect({ host: HOST, port: t.dimse!.ports.tcp!, localAddress }, () => resolve(s));
    s.once('error', reject);
  });
  const a = new Association(socket, 'requestor', {});
  await a.associate({
    type: PduType.AssociateRq, protocolVersion: 1, calledAeTitle: AEC, callingAeTitle, applicationContext: DICOM_APPLICATION_CONTEXT,
    contexts: [ECHO_CTX], userInfo: { maxPduLength: 65536, implementationClassUid: '1.2.826.0.1.3680043.9.7433.1', roles: [], extended: [] },
  });
  return a;
}

async function statusOf(responses: AsyncIterable<IncomingMessage>): Promise<number> {
  let status = -1;
  for await (const m of responses) {
    if (m.data) for await (const chunk of m.data) void chunk;
    status = m.command.status ?? -1;
  }
  return status;
}
const echo = (a: Association) => statusOf(a.request(1, { commandField: 0x0030, affectedSopClassUid: VERIFICATION, hasDataSet: false }));
const store = (a: Association, sop: string, data: Buffer | AsyncIterable<Buffer>) =>
  statusOf(a.request(3, { commandField: 0x0001, affectedSopClassUid: CT, affectedSopInstanceUid: sop, priority: 0, hasDataSet: true }, data));
/** The data set of a Part 10 object, as a C-STORE sends it. */
const datasetOf = (part10: Buffer) => part10.subarray(parsePart10(part10).datasetOffset);

async function addPeers(t: TestNode, peers: [string, string][]): Promise<void> {
  const now = new Date().toISOString();
  for (const [aeTitle, host] of peers) {
    await t.node.peers.addPeer({ aeTitle, host, port: 1, tls: false, certFingerprint: null, requireIdentity: false, createdAt: now, allow: ['echo', 'store', 'find'] });
  }
}

describe('associations, idle time and PDU length', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({
      'dimse.maxAssociations': 3, 'dimse.maxAssociationsPerPeer': 2, 'dimse.idleSeconds': 2, 'dimse.maxPduLength': 16384, 'dimse.artimSeconds': 2,
    }, { dimse: true });
    await addPeers(t, [['GOOD', HOST], ['TWO', '127.0.0.2'], ['THREE', '127.0.0.3']]);
  });
  afterAll(async () => { await t?.stop(); });

  it('rejects the association over the per-peer and the total limit transient, source 3, reason 2', async () => {
    const a1 = await assocTo(t);
    const a2 = await assocTo(t);
    // A third from the same address: over maxAssociationsPerPeer (2).
    await expect(assocTo(t)).rejects.toMatchObject({ close: LIMIT_RJ });
    await waitFor('the rejected association to close', () => t.dimse!.active() === 2);
    // Another address still gets in, up to maxAssociations (3) in total...
    const b1 = await assocFrom(t, '127.0.0.2', 'TWO');
    // ...and the fourth, from a third address, is over the total.
    await expect(assocFrom(t, '127.0.0.3', 'THREE')).rejects.toMatchObject({ close: LIMIT_RJ });
    // The held associations are untouched.
    expect(await echo(a1)).toBe(0);
    expect(await echo(b1)).toBe(0);
    await Promise.all([a1.release(), a2.release(), b1.release()]);
    await waitFor('all associations to close', () => t.dimse!.active() === 0);
    // The slots come back.
    const again = await assocFrom(t, '127.0.0.3', 'THREE');
    expect(await echo(again)).toBe(0);
    await again.release();
    await waitFor('all associations to close', () => t.dimse!.active() === 0);
  });

  it('aborts an association that stays idle for idleSeconds', async () => {
    const a = await assocTo(t);
    const closed = a.closedPromise();
    expect(await echo(a)).toBe(0);
    // Nothing more is sent: the listener aborts it (A-ABORT, service-user source: its own decision).
    expect(await bounded('the idle abort', closed)).toEqual({ kind: 'aborted-by-peer', source: 0, reason: 0 });
    expect(await a.closedPromise(), 'the reason, asked after the end').toEqual({ kind: 'aborted-by-peer', source: 0, reason: 0 });
    await waitFor('the idle association to be gone', () => t.dimse!.active() === 0);
  });

  it('does not count a PDU trickled a byte at a time as activity', async () => {
    const a = await assocTo(t);
    const closed = a.closedPromise();
    const command = encodeCommand({ commandField: 0x0030, messageId: 1, affectedSopClassUid: VERIFICATION, hasDataSet: false });
    const pdu = Buffer.concat([pdataPduHeader(1, true, true, command.length), command]);
    let done = false;
    void closed.then(() => { done = true; });
    // ~100 bytes at one per 100 ms take 10 s; idleSeconds is 2, and only whole PDUs are activity.
    for (let i = 0; i < pdu.length && !done; i++) {
      a.socket.write(pdu.subarray(i, i + 1));
      await sleep(100);
    }
    expect(await bounded('the idle abort', closed)).toEqual({ kind: 'aborted-by-peer', source: 0, reason: 0 });
    await waitFor('the association to be gone', () => t.dimse!.active() === 0);
  });

  it('accepts PDUs up to the advertised maximum length and aborts a peer that sends larger ones', async () => {
    const a = await assocTo(t);
    expect(a.ac!.userInfo.maxPduLength).toBe(16384);
    // At the limit: our SCU fragments to exactly the advertised length.
    const ok = makeInstance({ rows: 128, columns: 160 });
    expect(await store(a, ok.sop, datasetOf(ok.bytes))).toBe(0);
    // Over it: make our SCU believe the listener advertised 1 MiB, then send a 40 KB data set.
    const closed = a.closedPromise();
    a.ac!.userInfo.maxPduLength = 1 << 20;
    const big = makeInstance({ rows: 128, columns: 160 });
    await expect(store(a, big.sop, datasetOf(big.bytes))).rejects.toThrow();
    // A-ABORT from the service provider, reason 6: invalid PDU parameter value (PS3.8 Table 9-26).
    expect(await bounded('the abort', closed)).toEqual({ kind: 'aborted-by-peer', source: 2, reason: 6 });
    expect(await t.node.index.getInstance(big.sop)).toBeUndefined();
    await waitFor('the association to be gone', () => t.dimse!.active() === 0);
  });
});

describe('operations: queue, cancel, failures and a large object', () => {
  let t: TestNode;
  const STUDIES = 200;
  beforeAll(async () => {
    t = await startTestNode({ 'dimse.maxPendingOperations': 2 }, { dimse: true });
    await addPeers(t, [['GOOD', HOST]]);
  });
  afterAll(async () => { await t?.stop(); });

  /** Sends n C-ECHO requests in one burst (one write each, all before the listener reads). */
  function burst(a: Association, n: number): Promise<PromiseSettledResult<number>[]> {
    return Promise.allSettled(Array.from({ length: n }, () => echo(a)));
  }

  it('takes as many operations as maxPendingOperations queued behind the running one', async () => {
    const a = await assocTo(t);
    const results = await burst(a, 3); // one running, two queued
    expect(results.map((r) => r.status === 'fulfilled' && r.value)).toEqual([0, 0, 0]);
    await a.release();
    await waitFor('the association to close', () => t.dimse!.active() === 0);
  });

  it('aborts a peer that queues more operations than maxPendingOperations', async () => {
    const a = await assocTo(t);
    const closed = a.closedPromise();
    const results = await burst(a, 20);
    expect(await bounded('the abort', closed)).toEqual({ kind: 'aborted-by-peer', source: 0, reason: 0 });
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeLessThan(20);
    await waitFor('the association to be gone', () => t.dimse!.active() === 0);
    // The listener still serves others.
    const b = await assocTo(t);
    expect(await echo(b)).toBe(0);
    await b.release();
  });

  it('answers a failing operation with its status and keeps the association usable', async () => {
    const a = await assocTo(t);
    // A C-STORE whose data set does not parse: 0xC000 (cannot understand).
    expect(await store(a, newUid(), Buffer.from('\x08\x00\x16\x00UI\xff\xff this is not a data set'))).toBe(0xc000);
    // A C-FIND whose identifier does not parse: 0xA900 (identifier does not match SOP class).
    const find = { commandField: 0x0020, affectedSopClassUid: STUDY_FIND, priority: 0, hasDataSet: true };
    expect(await statusOf(a.request(5, find, Buffer.from([0x10, 0, 0x10, 0, 0x50, 0x4e, 0xf0, 0xff])))).toBe(0xa900);
    // The same association still works.
    expect(await echo(a)).toBe(0);
    const ok = makeInstance();
    expect(await store(a, ok.sop, datasetOf(ok.bytes))).toBe(0);
    await a.release();
    await waitFor('the association to close', () => t.dimse!.active() === 0);
  });

  describe('C-CANCEL of a C-FIND', () => {
    const identifier = writeDataSet(makeDataSet({ QueryRetrieveLevel: 'STUDY', PatientID: 'CANCEL1', StudyInstanceUID: '', StudyDescription: '' }), EXPLICIT);

    beforeAll(async () => {
      // 200 studies with 60 KB descriptions: the answers (12 MB) are more than the socket buffers
      // hold, so the SCP has to wait for the peer to read while its C-CANCEL arrives.
      const a = await assocTo(t);
      for (let i = 0; i < STUDIES; i++) {
        const inst = makeInstance({ PatientID: 'CANCEL1', StudyDescription: `STUDY ${i} `.padEnd(60_000, 'x') });
        expect(await store(a, inst.sop, datasetOf(inst.bytes))).toBe(0);
      }
      await a.release();
    }, 120_000);

    async function findWithCancel(a: Association, when: 'at-once' | 'after-first-row'): Promise<{ pending: number; final: number }> {
      const id = a.newMessageId();
      const cancel = () => a.send(5, { commandField: 0x0fff, messageIdBeingRespondedTo: id, hasDataSet: false });
      const responses = a.request(5, { commandField: 0x0020, messageId: id, affectedSopClassUid: STUDY_FIND, priority: 0, hasDataSet: true }, identifier)[Symbol.asyncIterator]();
      const first = responses.next(); // sends the C-FIND
      if (when === 'at-once') void cancel(); // queued right behind it, in the same write burst
      let pending = 0, final = -1;
      for (let r = await first; !r.done; r = await responses.next()) {
        const m = r.value;
        if (m.data) for await (const chunk of m.data) void chunk;
        const s = m.command.status ?? -1;
        if (s === 0xff00 || s === 0xff01) {
          pending++;
          if (pending === 1 && when === 'after-first-row') void cancel();
        } else final = s;
      }
      return { pending, final };
    }

    it('finds all the studies without a cancel', async () => {
      const a = await assocTo(t);
      const id = a.newMessageId();
      let pending = 0, final = -1;
      for await (const m of a.request(5, { commandField: 0x0020, messageId: id, affectedSopClassUid: STUDY_FIND, priority: 0, hasDataSet: true }, identifier)) {
        if (m.data) for await (const chunk of m.data) void chunk;
        if (m.command.status === 0xff00) pending++; else final = m.command.status ?? -1;
      }
      expect({ pending, final }).toEqual({ pending: STUDIES, final: 0 });
      await a.release();
    });

    it('ends with 0xFE00 when the C-CANCEL follows the C-FIND at once', async () => {
      const a = await assocTo(t);
      const r = await findWithCancel(a, 'at-once');
      expect(r.final).toBe(0xfe00);
      expect(r.pending).toBeLessThan(STUDIES);
      expect(await echo(a)).toBe(0);
      await a.release();
    });

    it('stops a C-FIND that is sending its pending responses, ending with 0xFE00', async () => {
      const a = await assocTo(t);
      const r = await findWithCancel(a, 'after-first-row');
      // The SCP checks for the cancel between rows. Its rows fill the socket buffers long before
      // 200 are out, so it is still sending when the C-CANCEL arrives; should a machine buffer all
      // 12 MB, the find would finish first with every row and Success, which PS3.4 C.4.1.2.3 allows
      // ("the C-CANCEL may arrive after the final response"): that is accepted, nothing else is.
      if (r.final === 0) expect(r.pending).toBe(STUDIES);
      else {
        expect(r.final).toBe(0xfe00);
        expect(r.pending).toBeGreaterThanOrEqual(1);
        expect(r.pending).toBeLessThan(STUDIES);
      }
      expect(await echo(a)).toBe(0);
      await a.release();
      await waitFor('the associations to close', () => t.dimse!.active() === 0);
    });
  });

  it('streams a 300 MB C-STORE into storage intact without holding it in memory', async () => {
    const SIZE = 300_000_000; // 10000 x 15000 16-bit pixels
    const sop = newUid();
    const head = writeDataSet(makeDataSet({
      SOPClassUID: CT, SOPInstanceUID: sop, StudyInstanceUID: newUid(), SeriesInstanceUID: newUid(), PatientName: 'LARGE^OBJECT', PatientID: 'BIG1',
      Modality: 'CT', SamplesPerPixel: 1, PhotometricInterpretation: 'MONOCHROME2', Rows: 10000, Columns: 15000,
      BitsAllocated: 16, BitsStored: 16, HighBit: 15, PixelRepresentation: 0,
    }), EXPLICIT);
    const pixelHeader = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57, 0, 0, 0, 0, 0, 0]);
    pixelHeader.writeUInt32LE(SIZE, 8);
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const sent = createHash('sha256');
    async function* dataset(): AsyncGenerator<Buffer> {
      const first = Buffer.concat([head, pixelHeader]);
      sent.update(first);
      yield first;
      const CHUNK = 1 << 20;
      for (let off = 0, n = 0; off < SIZE; off += CHUNK, n++) {
        const b = Buffer.alloc(Math.min(CHUNK, SIZE - off), n & 0xff);
        b.writeUInt32LE(n, 0); // no two chunks alike
        sent.update(b);
        yield b;
        // Chunks and PDUs already passed on are garbage that V8 frees only when it collects; a
        // collection every 16 MB makes RSS show what is held, not what awaits collection.
        if (n % 16 === 15) gc();
      }
    }
    for (let i = 0; i < 3; i++) gc();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
    let status: number;
    try {
      const a = await assocTo(t);
      status = await store(a, sop, dataset());
      await a.release();
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(status).toBe(0);
    // This process is both peer and server; the object is 300 MB, and the growth must stay far
    // under it. It is ~50 MB here; it was ~110 MB while the PDU framer kept consumed socket chunks.
    const grown = peak - before;
    expect(grown, `RSS grew by ${(grown / 1048576).toFixed(0)} MB`).toBeLessThan(90 * 1024 * 1024);

    const inst = await t.node.index.getInstance(sop);
    expect(inst).toBeDefined();
    const offset = parsePart10(await t.node.blobs.read(inst!.blobKey, 0, 64 * 1024), { partial: true, stopAtPixelData: true }).datasetOffset;
    const stored = createHash('sha256');
    let storedBytes = 0;
    for await (const chunk of t.node.blobs.open(inst!.blobKey, { start: offset, end: inst!.size }) as AsyncIterable<Buffer>) {
      stored.update(chunk);
      storedBytes += chunk.length;
    }
    expect(storedBytes).toBe(head.length + pixelHeader.length + SIZE);
    expect(stored.digest('hex')).toBe(sent.digest('hex'));
  }, 300_000);
});
