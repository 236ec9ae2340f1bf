import { describe, expect, it } from 'vitest';
import { worklistRequest } from './worklist.js';

describe('the worklist request', () => {
  it('turns the filters into the QIDO match keys of the same query service', () => {
    const r = worklistRequest({ patientName: 'doe', patientId: 'P1', accession: 'A*', dateFrom: '20240101', dateTo: '20240131', modality: 'CT' });
    expect(Object.fromEntries(r.keys)).toEqual({
      '00100010': 'doe*', '00100020': 'P1', '00080050': 'A*', '00080020': '20240101-20240131', '00080061': 'CT',
    });
    expect(r.level).toBe('STUDY');
  });

  it('matches a typed name as a prefix, but keeps a wildcard the user typed', () => {
    expect(worklistRequest({ patientName: 'DO?^J*' }).keys.get('00100010')).toBe('DO?^J*');
    expect(worklistRequest({ dateFrom: '20240101' }).keys.get('00080020')).toBe('20240101-');
  });

  it('sorts newest first by default and by any shown column on request', () => {
    expect(worklistRequest({}).order).toEqual({ column: 'StudyDate', descending: true });
    expect(worklistRequest({ sort: 'name' }).order).toEqual({ column: 'PatientNameNorm', descending: false });
    expect(worklistRequest({ sort: 'accession', descending: true }).order).toEqual({ column: 'AccessionNumber', descending: true });
  });

  it('asks for one row more than the page, to know whether another page exists', () => {
    expect(worklistRequest({ limit: 25, offset: 50 })).toMatchObject({ limit: 26, offset: 50 });
  });

  it('refuses malformed filters, sizes and sorts', () => {
    expect(() => worklistRequest({ dateFrom: '2024-1-1' })).toThrow(/YYYYMMDD/);
    expect(() => worklistRequest({ dateTo: '2024-01-01' })).toThrow(/dateTo/);
    expect(() => worklistRequest({ modality: "CT' OR 1=1" })).toThrow(/modality/);
    expect(() => worklistRequest({ limit: 10_000 })).toThrow(/limit/);
    expect(() => worklistRequest({ offset: -1 })).toThrow(/offset/);
    expect(() => worklistRequest({ sort: 'password' })).toThrow(/sort/);
    expect(() => worklistRequest({ patientName: 'x'.repeat(200) })).toThrow(/patientName/);
    expect(() => worklistRequest({ patientId: 42 })).toThrow(/patientId/);
  });
});
