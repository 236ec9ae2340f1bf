// The worklist: search studies by patient name, ID, accession, date range and modality, sort by
// column and page through the results. Filters live in page state and go to the server in a
// POST body, so no patient detail lands in the address bar, history or a server log.
import { postJson } from './api.js';
import { clear, h, link, table } from './dom.js';
import { date, isUid, text, T, type JsonDataSet } from './dicom-json.js';

interface Filters { patientName: string; patientId: string; accession: string; dateFrom: string; dateTo: string; modality: string }
interface State { filters: Filters; sort: string; descending: boolean; offset: number }

const PAGE = 25;
// Kept for the session's lifetime only, so that coming back from a study keeps the search.
let state: State = { filters: { patientName: '', patientId: '', accession: '', dateFrom: '', dateTo: '', modality: '' }, sort: 'date', descending: true, offset: 0 };

export function resetWorklistState(): void {
  state = { ...state, filters: { patientName: '', patientId: '', accession: '', dateFrom: '', dateTo: '', modality: '' }, offset: 0 };
}

const COLUMNS: { key: string | null; label: string; cell: (r: JsonDataSet) => Node | string }[] = [
  { key: 'name', label: 'Patient name', cell: (r) => studyLink(r, text(r, T.PatientName)) },
  { key: 'id', label: 'Patient ID', cell: (r) => text(r, T.PatientID) },
  { key: null, label: 'Birth date', cell: (r) => date(text(r, T.PatientBirthDate)) },
  { key: 'date', label: 'Study date', cell: (r) => date(text(r, T.StudyDate)) },
  { key: 'description', label: 'Description', cell: (r) => text(r, T.StudyDescription) },
  { key: null, label: 'Modalities', cell: (r) => text(r, T.ModalitiesInStudy) },
  { key: 'accession', label: 'Accession', cell: (r) => text(r, T.AccessionNumber) },
  { key: null, label: 'Images', cell: (r) => text(r, T.NumberOfStudyRelatedInstances) },
];

function studyLink(r: JsonDataSet, label: string): Node {
  const uid = text(r, T.StudyInstanceUID);
  return isUid(uid) ? link(`/study/${uid}`, label || '(no name)') : document.createTextNode(label);
}

const toDa = (v: string) => v.replaceAll('-', '');

export function worklistPage(): HTMLElement {
  const f = state.filters;
  const input = (name: keyof Filters, label: string, type = 'text') => {
    const el = h('input', { name, type, maxlength: 64, autocomplete: 'off' });
    el.value = f[name];
    el.addEventListener('input', () => { state.filters[name] = el.value; });
    return h('label', {}, label, el);
  };
  const modality = h('select', { name: 'modality' }, ...['', 'CT', 'MR', 'CR', 'DX', 'US', 'NM', 'PT', 'XA', 'MG', 'OT', 'SR'].map((m) => {
    const o = h('option', { value: m, text: m || 'any' });
    o.selected = m === f.modality;
    return o;
  }));
  modality.addEventListener('change', () => { state.filters.modality = modality.value; });
  const results = h('section', { class: 'results', 'aria-live': 'polite' });
  const form = h('form', { class: 'filters', 'aria-label': 'Search studies' },
    input('patientName', 'Patient name'), input('patientId', 'Patient ID'), input('accession', 'Accession'),
    input('dateFrom', 'From', 'date'), input('dateTo', 'To', 'date'), h('label', {}, 'Modality', modality),
    h('button', { type: 'submit', text: 'Search' }));
  form.addEventListener('submit', (e) => { e.preventDefault(); state.offset = 0; void load(results); });
  void load(results);
  return h('main', { class: 'worklist' }, h('h1', { text: 'Worklist' }), form, results);
}

async function load(out: HTMLElement): Promise<void> {
  const f = state.filters;
  out.setAttribute('aria-busy', 'true');
  let page: { rows: JsonDataSet[]; more: boolean };
  try {
    page = await postJson('/api/worklist', {
      patientName: f.patientName.trim() || undefined, patientId: f.patientId.trim() || undefined, accession: f.accession.trim() || undefined,
      dateFrom: toDa(f.dateFrom) || undefined, dateTo: toDa(f.dateTo) || undefined, modality: f.modality || undefined,
      sort: state.sort, descending: state.descending, limit: PAGE, offset: state.offset,
    });
  } catch (e) {
    clear(out);
    out.append(h('p', { class: 'error', role: 'alert', text: `The search failed: ${(e as Error).message}` }));
    out.removeAttribute('aria-busy');
    return;
  }
  clear(out);
  const head = COLUMNS.map((c) => c.label);
  const t = table(head, page.rows.map((r) => COLUMNS.map((c) => c.cell(r))));
  t.classList.add('studies');
  // Sortable headers are buttons.
  const ths = t.querySelectorAll('th');
  COLUMNS.forEach((c, i) => {
    if (!c.key) return;
    const th = ths[i]!;
    const key = c.key;
    const b = h('button', { class: 'sort', type: 'button', text: c.label + (state.sort === key ? (state.descending ? ' ▼' : ' ▲') : '') });
    th.setAttribute('aria-sort', state.sort === key ? (state.descending ? 'descending' : 'ascending') : 'none');
    b.addEventListener('click', () => {
      state.descending = state.sort === key ? !state.descending : key === 'date';
      state.sort = key;
      state.offset = 0;
      void load(out);
    });
    th.replaceChildren(b);
  });
  const prev = h('button', { type: 'button', text: 'Previous', disabled: state.offset === 0 });
  const next = h('button', { type: 'button', text: 'Next', disabled: !page.more });
  prev.addEventListener('click', () => { state.offset = Math.max(0, state.offset - PAGE); void load(out); });
  next.addEventListener('click', () => { state.offset += PAGE; void load(out); });
  const first = page.rows.length ? state.offset + 1 : 0;
  out.append(page.rows.length ? t : h('p', { class: 'empty', text: 'No studies match.' }),
    h('nav', { class: 'pager' }, prev, h('span', { class: 'range', text: `${first}–${state.offset + page.rows.length}${page.more ? '+' : ''}` }), next));
  out.removeAttribute('aria-busy');
}
