// The patient banner: who and which study this is, as plain text on every clinical page.
import { h } from './dom.js';
import { date, text, T, type JsonDataSet } from './dicom-json.js';

export function patientBanner(ds: JsonDataSet): HTMLElement {
  const item = (label: string, value: string, cls: string) => h('span', { class: `item ${cls}` }, h('span', { class: 'label', text: label }), h('span', { class: 'value', text: value }));
  return h('header', { class: 'patient-banner', 'aria-label': 'Patient' },
    item('Name', text(ds, T.PatientName), 'name'),
    item('ID', text(ds, T.PatientID), 'id'),
    item('Born', date(text(ds, T.PatientBirthDate)), 'birth'),
    item('Sex', text(ds, T.PatientSex), 'sex'),
    item('Study date', date(text(ds, T.StudyDate)), 'study-date'),
    item('Study', text(ds, T.StudyDescription), 'description'));
}
