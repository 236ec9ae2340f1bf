// The query use case shared by QIDO-RS and C-FIND: match keys in, DICOM JSON rows out.
// Matching follows PS3.4 C.2.2.2 (single value, universal, wildcard, range, UID list);
// the SQL is the IndexStore's. Keys the index cannot match are reported, not silently dropped.
import { badRequest } from '../errors.js';
import { lookupTag } from '../dicom/dictionary.generated.js';
import type { JsonAttribute, JsonDataSet } from '../dicom/json.js';
import { isPlausibleUid } from '../dicom/uid.js';
import type { Column, Condition, IndexStore, Level, Match, QueryRow, StudyOrder } from '../store/index/index-store.js';
import type { Principal } from '../security/principal.js';
import { authorizeAudited } from './guard.js';
import type { AccessControl } from './access.js';
import { patientsFromJson, type AuditSink } from './audit-port.js';
import { throttle, type RateLimiter } from './rate-limit.js';
import { INSTANCE_RETURN, PATIENT_RETURN, SERIES_RETURN, STUDY_RETURN } from './level-attributes.js';
import { normalizePN } from './normalize.js';

export interface QueryRequest {
  level: Level;
  /** Match keys: tag as "GGGGEEEE" -> the value as the peer sent it ('' = universal / return key). */
  keys: Map<string, string>;
  /** Extra return keys, or 'all'. */
  includeFields: Set<string> | 'all';
  limit?: number;
  offset?: number;
  fuzzyMatching?: boolean;
  /** Study level: the sort the worklist asked for (QIDO-RS has none; the default is newest first). */
  order?: StudyOrder;
}

export interface QueryResult {
  rows: JsonDataSet[];
  /** Keys that were given but cannot be matched by this archive (ignored, per PS3.18 8.3.4.?). */
  unsupportedKeys: string[];
  /** More rows exist beyond the limit the server applied. */
  truncated: boolean;
}

type Kind = 'uid' | 'date' | 'time' | 'pn' | 'text';
interface KeyDef { column: Column; kind: Kind; level: Level }

/** The index's matchable keys, per PS3.4 C.6 and PS3.18 Table 10.6.1-5. */
const KEYS: Record<string, KeyDef> = {
  '00100020': { column: 'PatientID', kind: 'text', level: 'PATIENT' },
  '00100021': { column: 'IssuerOfPatientID', kind: 'text', level: 'PATIENT' },
  '00100010': { column: 'PatientNameNorm', kind: 'pn', level: 'PATIENT' },
  '00100030': { column: 'PatientBirthDate', kind: 'date', level: 'PATIENT' },
  '00100040': { column: 'PatientSex', kind: 'text', level: 'PATIENT' },
  '0020000D': { column: 'StudyInstanceUID', kind: 'uid', level: 'STUDY' },
  '00080020': { column: 'StudyDate', kind: 'date', level: 'STUDY' },
  '00080030': { column: 'StudyTime', kind: 'time', level: 'STUDY' },
  '00080050': { column: 'AccessionNumber', kind: 'text', level: 'STUDY' },
  '00200010': { column: 'StudyID', kind: 'text', level: 'STUDY' },
  '00080090': { column: 'ReferringPhysicianNameNorm', kind: 'pn', level: 'STUDY' },
  '00081030': { column: 'StudyDescription', kind: 'text', level: 'STUDY' },
  '00080061': { column: 'ModalitiesInStudy', kind: 'text', level: 'STUDY' },
  '0020000E': { column: 'SeriesInstanceUID', kind: 'uid', level: 'SERIES' },
  '00080060': { column: 'Modality', kind: 'text', level: 'SERIES' },
  '00200011': { column: 'SeriesNumber', kind: 'text', level: 'SERIES' },
  '0008103E': { column: 'SeriesDescription', kind: 'text', level: 'SERIES' },
  '00080021': { column: 'SeriesDate', kind: 'date', level: 'SERIES' },
  '00080018': { column: 'SOPInstanceUID', kind: 'uid', level: 'IMAGE' },
  '00080016': { column: 'SOPClassUID', kind: 'uid', level: 'IMAGE' },
  '00200013': { column: 'InstanceNumber', kind: 'text', level: 'IMAGE' },
};

const DEPTH: Record<Level, number> = { PATIENT: 0, STUDY: 1, SERIES: 2, IMAGE: 3 };

/** Keys that are computed or framing, never matched: they are only return keys. */
const RETURN_ONLY = new Set(['00080005', '00080052', '00080056', '00081190', '00201200', '00201202', '00201204', '00201206', '00201208', '00201209', '00080201']);

export const MAX_VALUE_LENGTH = 1024;

export function toMatch(def: KeyDef, raw: string): Match | undefined {
  let v = raw.trim();
  if (v.length > MAX_VALUE_LENGTH) throw badRequest(`match value for ${def.column} is longer than ${MAX_VALUE_LENGTH}`);
  if (v === '' || v === '*') return undefined; // universal
  switch (def.kind) {
    case 'uid': {
      const list = v.split(/[\\,]/).map((s) => s.trim()).filter(Boolean);
      if (list.length > 1000) throw badRequest('UID list longer than 1000');
      for (const u of list) if (!isPlausibleUid(u)) throw badRequest(`${def.column}: not a valid UID`);
      return list.length === 1 ? { kind: 'single', value: list[0]! } : { kind: 'list', values: list };
    }
    case 'date': {
      const range = parseRange(v, /^\d{8}$/, def.column, 'YYYYMMDD');
      if (range) return range;
      if (!/^\d{8}$/.test(v)) throw badRequest(`${def.column}: expected a date YYYYMMDD or a range`);
      return { kind: 'single', value: v };
    }
    case 'time': {
      const re = /^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/;
      const range = parseRange(v, re, def.column, 'HHMMSS');
      if (range) return { kind: 'range', from: range.from, to: range.to === undefined ? undefined : timeUpper(range.to) };
      if (!re.test(v)) throw badRequest(`${def.column}: expected a time HHMMSS or a range`);
      return { kind: 'range', from: v, to: timeUpper(v) };
    }
    case 'pn':
      v = normalizePN(v);
      return /[*?]/.test(v) ? { kind: 'wildcard', pattern: v } : { kind: 'single', value: v };
    case 'text': {
      if (def.column === 'ModalitiesInStudy' && v.includes('\\')) {
        return { kind: 'list', values: v.split('\\').filter(Boolean) };
      }
      return /[*?]/.test(v) ? { kind: 'wildcard', pattern: v } : { kind: 'single', value: v };
    }
  }
}

function parseRange(v: string, re: RegExp, column: string, form: string): { kind: 'range'; from?: string; to?: string } | undefined {
  const i = v.indexOf('-');
  if (i < 0) return undefined;
  const from = v.slice(0, i), to = v.slice(i + 1);
  if ((from && !re.test(from)) || (to && !re.test(to)) || (!from && !to)) {
    throw badRequest(`${column}: expected a range of ${form} values`);
  }
  return { kind: 'range', from: from || undefined, to: to || undefined };
}

/** The last instant a partial time names: "0830" covers 08:30:00 up to 08:30:59.999999. */
function timeUpper(t: string): string {
  const full = '235959.999999';
  if (t.length >= 6) return t.includes('.') ? t.padEnd(13, '9') : t + '.999999';
  return t + full.slice(t.length);
}

export interface QueryDeps { index: IndexStore; audit: AuditSink; access: AccessControl; maxResults: number; limits?: RateLimiter }

export class QueryService {
  constructor(private readonly deps: QueryDeps) {}

  async search(principal: Principal, req: QueryRequest, baseUrl?: string): Promise<QueryResult> {
    await authorizeAudited(this.deps.audit, principal, 'query', 'query');
    await throttle(this.deps.limits, this.deps.audit, principal, 'query');
    const conditions: Condition[] = [];
    const unsupported: string[] = [];
    for (const [tag, value] of req.keys) {
      const def = KEYS[tag];
      if (!def) {
        if (value.trim() !== '' && value.trim() !== '*' && !RETURN_ONLY.has(tag)) unsupported.push(tag);
        continue;
      }
      if (DEPTH[def.level] > DEPTH[req.level]) {
        // A key of a lower level cannot restrict a higher-level query (relational queries are off).
        if (value.trim() !== '' && value.trim() !== '*') unsupported.push(tag);
        continue;
      }
      const m = toMatch(def, value);
      if (m) conditions.push({ column: def.column, match: m });
    }
    const cap = this.deps.maxResults;
    const limit = Math.min(req.limit ?? cap, cap);
    const offset = req.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 0 || !Number.isInteger(offset) || offset < 0) throw badRequest('limit and offset must be non-negative integers');
    let rows: QueryRow[];
    try {
      // The caller's scope is part of the SQL: rows outside it are neither returned nor counted.
      rows = await this.deps.index.query({ level: req.level, conditions, limit: limit + 1, offset, within: this.deps.access.scope(principal), order: req.level === 'STUDY' ? req.order : undefined });
    } catch (e) {
      await this.deps.audit.record({ action: 'query', outcome: 'failure', principal, query: Object.fromEntries(req.keys) });
      throw e;
    }
    const truncated = rows.length > limit && (req.limit === undefined || req.limit > cap);
    rows = rows.slice(0, limit);
    const plan = rowPlan(req);
    const built = rows.map((r) => buildRow(req, plan, r, baseUrl));
    await this.deps.audit.record({
      action: 'query', outcome: 'success', principal, query: Object.fromEntries(req.keys),
      studies: req.level === 'PATIENT' ? undefined : [...new Set(built.map((r) => str(r, '0020000D')).filter(Boolean))],
      patients: patientsFromJson(rows.map((r) => r.patientJson)),
    });
    return { rows: built, unsupportedKeys: unsupported, truncated };
  }
}


const us = (n: number | undefined): JsonAttribute => ({ vr: 'IS', Value: [n ?? 0] });

/** The keys a row carries, worked out once per query rather than once per row. */
interface RowPlan { keys: string[]; all: boolean; emptyIfMissing: Set<string> }

function rowPlan(req: QueryRequest): RowPlan {
  const required: readonly string[] = { PATIENT: PATIENT_RETURN, STUDY: STUDY_RETURN, SERIES: SERIES_RETURN, IMAGE: INSTANCE_RETURN }[req.level];
  const want = new Set<string>(required);
  for (const k of req.keys.keys()) want.add(k);
  // Study- and series-level queries also name their parents' UIDs so a client can navigate.
  if (DEPTH[req.level] >= 1) want.add('0020000D');
  if (DEPTH[req.level] >= 2) want.add('0020000E');
  if (req.includeFields !== 'all') for (const k of req.includeFields) want.add(k);
  return { keys: [...want].sort(), all: req.includeFields === 'all', emptyIfMissing: new Set([...required, ...req.keys.keys()]) };
}

function buildRow(req: QueryRequest, plan: RowPlan, r: QueryRow, baseUrl: string | undefined): JsonDataSet {
  // Levels are looked up from the most specific down, without merging whole objects.
  const levels: JsonDataSet[] = [];
  if (r.instanceJson) levels.push(JSON.parse(r.instanceJson) as JsonDataSet);
  if (r.seriesJson) levels.push(JSON.parse(r.seriesJson) as JsonDataSet);
  if (r.studyJson) levels.push(JSON.parse(r.studyJson) as JsonDataSet);
  levels.push(JSON.parse(r.patientJson) as JsonDataSet);
  const find = (k: string): JsonAttribute | undefined => {
    for (const l of levels) { const a = l[k]; if (a) return a; }
    return undefined;
  };
  const computed: JsonDataSet = { '00080005': { vr: 'CS', Value: ['ISO_IR 192'] } }; // JSON is UTF-8 whatever the stored set
  const study = strOf(find('0020000D')), series = strOf(find('0020000E')), sop = strOf(find('00080018'));
  switch (req.level) {
    case 'PATIENT':
      computed['00201200'] = us(r.numberOfPatientRelatedStudies);
      computed['00201202'] = us(r.numberOfPatientRelatedSeries);
      computed['00201204'] = us(r.numberOfPatientRelatedInstances);
      break;
    case 'STUDY':
      computed['00080056'] = { vr: 'CS', Value: ['ONLINE'] };
      computed['00201206'] = us(r.numberOfStudyRelatedSeries);
      computed['00201208'] = us(r.numberOfStudyRelatedInstances);
      computed['00080061'] = { vr: 'CS', Value: r.modalitiesInStudy ?? [] };
      if (baseUrl) computed['00081190'] = { vr: 'UR', Value: [`${baseUrl}/studies/${study}`] };
      break;
    case 'SERIES':
      computed['00080056'] = { vr: 'CS', Value: ['ONLINE'] };
      computed['00201209'] = us(r.numberOfSeriesRelatedInstances);
      if (baseUrl) computed['00081190'] = { vr: 'UR', Value: [`${baseUrl}/studies/${study}/series/${series}`] };
      break;
    case 'IMAGE':
      computed['00080056'] = { vr: 'CS', Value: ['ONLINE'] };
      if (baseUrl) computed['00081190'] = { vr: 'UR', Value: [`${baseUrl}/studies/${study}/series/${series}/instances/${sop}`] };
      break;
  }
  if (plan.all) {
    const out: JsonDataSet = {};
    for (const l of [...levels].reverse()) for (const [k, a] of Object.entries(l)) if (!('BulkDataURI' in a) && !('InlineBinary' in a)) out[k] = a;
    Object.assign(out, computed);
    for (const k of plan.keys) if (!out[k] && plan.emptyIfMissing.has(k)) out[k] = { vr: vrGuess(k) };
    return sortKeys(out);
  }
  const out: JsonDataSet = {};
  for (const k of plan.keys) {
    const a = computed[k] ?? find(k);
    if (a) out[k] = a;
    else if (plan.emptyIfMissing.has(k)) out[k] = { vr: vrGuess(k) };
  }
  return out;
}

const strOf = (a: JsonAttribute | undefined): string => {
  const v = a?.Value?.[0];
  return typeof v === 'string' ? v : '';
};

function str(ds: JsonDataSet, k: string): string {
  const v = ds[k]?.Value?.[0];
  return typeof v === 'string' ? v : '';
}

function sortKeys(o: JsonDataSet): JsonDataSet {
  const out: JsonDataSet = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

function vrGuess(k: string): JsonAttribute['vr'] {
  const d = lookupTag(parseInt(k, 16) >>> 0);
  return (d?.vr ?? 'UN') as JsonAttribute['vr'];
}
