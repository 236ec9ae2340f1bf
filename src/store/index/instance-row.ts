// One indexed instance as its `instances` row and as the StoredInstance a write reports: shared by
// the general insert path (kysely-index-store.ts) and SQLite's direct one (sqlite-fast-insert.ts).
import type { InstanceIndexEntry, StoredInstance } from './index-store.js';
import { toInt } from './schema.js';

/** The `instances` columns of an entry, without `series_pk`. */
export function instanceRow(e: InstanceIndexEntry, createdAt: string) {
  const i = e.instance;
  return {
    sop_instance_uid: i.SOPInstanceUID, sop_class_uid: i.SOPClassUID, instance_number: i.InstanceNumber,
    instance_number_int: toInt(i.InstanceNumber), transfer_syntax_uid: i.TransferSyntaxUID, blob_key: i.blobKey,
    size: i.size, sha256: i.sha256, created_at: createdAt, json: i.json,
  };
}

export function storedInstance(e: InstanceIndexEntry, createdAt: string): StoredInstance {
  const i = e.instance;
  return {
    StudyInstanceUID: e.study.StudyInstanceUID, SeriesInstanceUID: e.series.SeriesInstanceUID,
    SOPInstanceUID: i.SOPInstanceUID, SOPClassUID: i.SOPClassUID, TransferSyntaxUID: i.TransferSyntaxUID,
    blobKey: i.blobKey, size: i.size, sha256: i.sha256, createdAt,
  };
}
