// The IndexStore port: what the services need from the database that indexes stored instances.
// Adapters (SQLite, PostgreSQL) live beside this file and share one contract test suite.
// Values are plain strings already normalised by the services; the store never parses DICOM.

/** One matching rule on one indexed column (PS3.4 C.2.2.2). */
export type Match =
  | { kind: 'single'; value: string } // exact, case-sensitive (for *_norm columns the caller normalises)
  | { kind: 'wildcard'; pattern: string } // '*' any run, '?' one character; no other specials
  | { kind: 'range'; from?: string; to?: string } // inclusive, string comparison (DA "YYYYMMDD", TM "HHMMSS.FFFFFF")
  | { kind: 'list'; values: string[] }; // UID list: any of

/** Indexed columns, by level. Names are the DICOM keywords (except the *Norm columns). */
export type PatientColumn = 'PatientID' | 'IssuerOfPatientID' | 'PatientNameNorm' | 'PatientBirthDate' | 'PatientSex';
export type StudyColumn =
  | 'StudyInstanceUID' | 'StudyDate' | 'StudyTime' | 'AccessionNumber' | 'StudyID'
  | 'ReferringPhysicianNameNorm' | 'StudyDescription'
  | 'ModalitiesInStudy'; // matches if any series of the study has this Modality
export type SeriesColumn = 'SeriesInstanceUID' | 'Modality' | 'SeriesNumber' | 'SeriesDescription' | 'SeriesDate';
export type InstanceColumn = 'SOPInstanceUID' | 'SOPClassUID' | 'InstanceNumber';
export type Column = PatientColumn | StudyColumn | SeriesColumn | InstanceColumn;

export interface Condition { column: Column; match: Match }

export type Level = 'PATIENT' | 'STUDY' | 'SERIES' | 'IMAGE';

/**
 * What a principal may see, pushed into the SQL of every read so paging, counts and limits only
 * ever count visible rows. Absent means everything (and costs nothing). A study is visible when
 * its UID is listed, or a live grant of the grantee names it or its patient (by Patient ID).
 */
export interface DataScope {
  /** Studies visible by UID (a share link's one study). */
  studies?: readonly string[];
  /** Grants held by this user or these groups, unexpired at `at` (ISO 8601), make data visible. */
  grantees?: { userId: string | null; groups: readonly string[]; at: string };
}

export interface IndexQuery {
  level: Level;
  /** Only rows within this scope; absent = all. */
  within?: DataScope;
  /** All must hold (AND). Conditions on columns of a higher level restrict through the hierarchy. */
  conditions: Condition[];
  limit: number;
  offset: number;
  /** Study level only: the worklist's sort column; the default is newest study first. */
  order?: StudyOrder;
}

/** Columns a study list may be sorted by (each is indexed, or reached through an indexed join). */
export type StudyOrderColumn = 'StudyDate' | 'PatientNameNorm' | 'PatientID' | 'AccessionNumber' | 'StudyDescription';
export interface StudyOrder { column: StudyOrderColumn; descending: boolean }

/** The attributes to index for one instance, computed by the ingest service. */
export interface InstanceIndexEntry {
  patient: {
    PatientID: string; IssuerOfPatientID: string; PatientName: string; PatientNameNorm: string;
    PatientBirthDate: string; PatientSex: string;
    /** DICOM JSON (PS3.18 F) object of the patient-level attributes, as a string. */
    json: string;
  };
  study: {
    StudyInstanceUID: string; StudyDate: string; StudyTime: string; AccessionNumber: string; StudyID: string;
    ReferringPhysicianNameNorm: string; StudyDescription: string;
    json: string;
  };
  series: {
    SeriesInstanceUID: string; Modality: string; SeriesNumber: string; SeriesDescription: string; SeriesDate: string;
    json: string;
  };
  instance: {
    SOPInstanceUID: string; SOPClassUID: string; InstanceNumber: string; TransferSyntaxUID: string;
    /** Server-made key of the blob; never derived from peer data. */
    blobKey: string; size: number; sha256: string;
    /** DICOM JSON of the whole data set without bulk data (values replaced by BulkDataURI placeholders). */
    json: string;
  };
}

export interface StoredInstance {
  StudyInstanceUID: string; SeriesInstanceUID: string; SOPInstanceUID: string; SOPClassUID: string;
  TransferSyntaxUID: string; blobKey: string; size: number; sha256: string; createdAt: string;
}

export type OverwritePolicy = 'reject' | 'keep' | 'replace';

export type InsertOutcome =
  | { status: 'stored'; instance: StoredInstance }
  /** Same SOP Instance UID already indexed; `existing` is what stays (policy reject/keep). */
  | { status: 'duplicate'; existing: StoredInstance }
  /** Replaced (policy replace): `replaced` is the old row whose blob the caller must delete. */
  | { status: 'replaced'; instance: StoredInstance; replaced: StoredInstance };

/** One result row of a query: level JSONs of this row and its parents, plus computed counts. */
export interface QueryRow {
  patientJson: string;
  studyJson?: string; // present for STUDY, SERIES, IMAGE
  seriesJson?: string; // present for SERIES, IMAGE
  instanceJson?: string; // present for IMAGE (the full metadata JSON)
  /** Counts, present at the level where PS3.18 / PS3.4 ask for them. */
  numberOfPatientRelatedStudies?: number;
  numberOfPatientRelatedSeries?: number;
  numberOfPatientRelatedInstances?: number;
  numberOfStudyRelatedSeries?: number;
  numberOfStudyRelatedInstances?: number;
  modalitiesInStudy?: string[];
  numberOfSeriesRelatedInstances?: number;
  /** For IMAGE: where it is kept. */
  instance?: StoredInstance;
}

export interface RetrieveScope {
  StudyInstanceUID: string; SeriesInstanceUID?: string; SOPInstanceUID?: string;
  /** Only instances within this scope; absent = all. Outside looks exactly like missing. */
  within?: DataScope;
}

export interface InsertOptions { deferDurability?: boolean }

export interface IndexStore {
  /** Creates or upgrades the schema. */
  migrate(): Promise<void>;
  /**
   * Indexes a batch in one transaction; outcomes are in input order. With `deferDurability`
   * the commit is atomic but may be lost on a power failure until the next syncBarrier(): the
   * caller must be able to rebuild it (ingest re-indexes blobs from its recent folders).
   */
  insertInstances(entries: InstanceIndexEntry[], policy: OverwritePolicy, opts?: InsertOptions): Promise<InsertOutcome[]>;
  /** Makes every write committed so far durable (those made with deferDurability included). */
  syncBarrier(): Promise<void>;
  /** Which of these blob keys the index refers to. */
  indexedBlobKeys(keys: readonly string[]): Promise<Set<string>>;
  query(q: IndexQuery): Promise<QueryRow[]>;
  /** Instances under a scope, ordered by series then instance number then UID. */
  listInstances(scope: RetrieveScope): Promise<StoredInstance[]>;
  /** The metadata JSON strings of the instances under a scope, same order as listInstances. */
  listInstanceJson(scope: RetrieveScope): Promise<{ instance: StoredInstance; json: string }[]>;
  getInstance(sopInstanceUid: string): Promise<StoredInstance | undefined>;
  /** Removes the rows under a scope (and parents left empty), returns what was removed. */
  deleteScope(scope: RetrieveScope): Promise<StoredInstance[]>;
  /** Every blob key the index refers to, for fsck. */
  allInstances(): AsyncIterable<StoredInstance>;
  counts(): Promise<{ patients: number; studies: number; series: number; instances: number }>;
  close(): Promise<void>;
}
