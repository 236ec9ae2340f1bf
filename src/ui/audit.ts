// The auditor's pages: who saw which patient (accounting of disclosures), what a user accessed,
// who accessed a study, and the unusual-access alerts. Everything comes from /api/audit (the
// 'read-audit' permission; every read is itself recorded). The patient ID asked for goes in the
// API request only, never in the address bar (routes live in the fragment).
import { getJson, request } from './api.js';
import { h, table } from './dom.js';

interface AccessRow {
  time: string; user: string; kind: string; door: string; ip: string; action: string; outcome: string;
  patients: string[]; studies: string[]; instances: number | null; why: string; destination: string;
}

const when = (iso: string) => iso.replace('T', ' ').slice(0, 19);

function rowsTable(rows: AccessRow[]): Node {
  if (rows.length === 0) return h('p', { class: 'empty', text: 'No access recorded.' });
  return table(['When (UTC)', 'Who', 'Door', 'From', 'What', 'Outcome', 'Studies', 'Instances', 'Break-glass reason'], rows.map((r) => [
    when(r.time), `${r.user} (${r.kind})`, r.door, r.ip, r.destination ? `${r.action} to ${r.destination}` : r.action,
    h('span', { class: r.outcome === 'success' ? 'ok' : 'warn', text: r.outcome }),
    r.studies.join(', '), r.instances === null ? '' : String(r.instances),
    r.why ? h('strong', { class: 'warn', text: r.why }) : '',
  ]));
}

/** Saves a CSV or PDF export fetched with the session, so the patient ID never sits in a link or the history. */
async function download(path: string, accept: string, name: string): Promise<void> {
  const blob = await (await request('GET', path, undefined, accept)).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function searchForm(label: string, name: string, run: (value: string) => Promise<void>): HTMLFormElement {
  const input = h('input', { name, required: true, maxlength: 128, autocomplete: 'off' });
  const form = h('form', { class: 'inline-form', 'aria-label': label }, h('label', {}, label, input), h('button', { type: 'submit', text: 'Show' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void run(input.value.trim());
  });
  return form;
}

function reportSection(title: string, label: string, param: 'patient' | 'user' | 'study'): HTMLElement {
  const out = h('div', { class: 'audit-result', 'aria-live': 'polite' });
  const endpoint = (v: string, format?: string) => `/api/audit/${param === 'patient' ? 'disclosures' : 'accesses'}?${param}=${encodeURIComponent(v)}${format ? `&format=${format}` : ''}`;
  const form = searchForm(label, param, async (v) => {
    out.replaceChildren(h('p', { text: 'Loading…' }));
    try {
      const { entries: rows } = await getJson<{ title: string; entries: AccessRow[] }>(endpoint(v));
      const csv = h('button', { type: 'button', text: 'Download CSV' });
      csv.addEventListener('click', () => { void download(endpoint(v, 'csv'), 'text/csv', `${param}-accesses.csv`); });
      const pdf = h('button', { type: 'button', text: 'Download PDF' });
      pdf.addEventListener('click', () => { void download(endpoint(v, 'pdf'), 'application/pdf', `${param}-accesses.pdf`); });
      out.replaceChildren(h('p', { class: 'count', text: `${rows.length} access(es)` }), csv, pdf, rowsTable(rows));
    } catch (e) {
      out.replaceChildren(h('p', { class: 'error', role: 'alert', text: (e as Error).message }));
    }
  });
  return h('section', { class: `audit-${param}` }, h('h2', { text: title }), form, out);
}

async function alertsSection(): Promise<HTMLElement> {
  const { alerts } = await getJson<{ alerts: { time: string; kind?: string; detail?: string; principal: string; studies: string[] }[] }>('/api/audit/alerts');
  return h('section', { class: 'audit-alerts' }, h('h2', { text: 'Alerts' }),
    alerts.length === 0 ? h('p', { class: 'empty', text: 'No alert.' })
      : table(['When (UTC)', 'Kind', 'Who', 'Studies', 'Detail'], alerts.map((a) => [when(a.time), a.kind ?? '', a.principal, a.studies.join(', '), a.detail ?? ''])));
}

export function auditPage(): HTMLElement {
  const main = h('main', { class: 'audit' }, h('h1', { text: 'Audit' }),
    reportSection('Who saw this patient', 'Patient ID', 'patient'),
    reportSection('What this user accessed', 'User name', 'user'),
    reportSection('Who accessed this study', 'Study Instance UID', 'study'));
  void alertsSection().then((s) => main.append(s), (e: Error) => main.append(h('p', { class: 'error', role: 'alert', text: e.message })));
  return main;
}
