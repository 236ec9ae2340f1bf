// The administration pages about who may see what and who is signed in: local groups and their
// members, every data grant (filterable, revocable, and a form to add one) and everyone's web
// sessions (filterable, each can be ended). Filters stay in the page and patient IDs travel only in request bodies, never in URLs.
import { del, getJson, postJson } from './api.js';
import { actionButton, fmt, type Rerender } from './admin-common.js';
import { h, table } from './dom.js';

const enc = encodeURIComponent;

/** The user names, offered as suggestions where a user is named. */
async function userList(id: string): Promise<HTMLDataListElement> {
  const users = await getJson<{ username: string }[]>('/api/admin/users');
  return h('datalist', { id }, ...users.map((u) => h('option', { value: u.username })));
}

export async function groups(rerender: Rerender): Promise<Node[]> {
  const list = await getJson<{ group: string; members: string[] }[]>('/api/admin/groups');
  const users = await userList('admin-user-names');
  const name = h('input', { name: 'group', required: true, maxlength: 128, autocomplete: 'off' });
  const members = h('input', { name: 'members', required: true, maxlength: 2000, autocomplete: 'off', list: 'admin-user-names', placeholder: 'user names, comma-separated' });
  const out = h('p', { class: 'result', 'aria-live': 'polite' });
  const form = h('form', { class: 'inline-form', 'aria-label': 'Create a group' },
    h('label', {}, 'Group name', name), h('label', {}, 'Members', members), h('button', { type: 'submit', text: 'Create group' }), out);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const names = members.value.split(',').map((m) => m.trim()).filter(Boolean);
    void postJson('/api/admin/groups', { group: name.value.trim(), members: names }).then(rerender, (err: Error) => { out.textContent = err.message; });
  });
  const hint = h('p', { class: 'hint', text: 'A group exists while it has members. Grants to a group reach its members; users signed in with single sign-on also get the groups their provider names.' });
  if (list.length === 0) return [hint, form, users, h('p', { text: 'No groups yet.' })];
  return [hint, form, users, table(['Group', 'Members', 'Add a member', ''], list.map((g) => [
    g.group,
    h('ul', { class: 'members' }, ...g.members.map((m) => h('li', {}, h('span', { text: m }), ' ',
      actionButton('×', `Remove ${m} from ${g.group}?`, () => del(`/api/admin/groups/${enc(g.group)}/members/${enc(m)}`), rerender, `Remove ${m} from ${g.group}`)))),
    addMember(g.group, rerender),
    actionButton('Delete group', `Delete the group ${g.group}? Every member leaves it; grants to the group stay until revoked on the Grants page.`, () => del(`/api/admin/groups/${enc(g.group)}`), rerender),
  ]))];
}

function addMember(group: string, rerender: Rerender): HTMLFormElement {
  const who = h('input', { name: 'member', required: true, maxlength: 64, autocomplete: 'off', list: 'admin-user-names', 'aria-label': `New member of ${group}` });
  const form = h('form', { class: 'inline-form compact' }, who, h('button', { type: 'submit', text: 'Add' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void postJson('/api/admin/groups', { group, members: [who.value.trim()] }).then(rerender, (err: Error) => alert(err.message));
  });
  return form;
}

interface Grant {
  id: string; subjectKind: 'user' | 'group'; subjectName: string; studyInstanceUid: string | null; patientId: string | null;
  expiresAt: string | null; grantedBy: string; createdAt: string; kind: 'grant' | 'break-glass'; reason: string | null;
}

export async function grants(rerender: Rerender): Promise<Node[]> {
  const list = await getJson<Grant[]>('/api/grants');
  const users = await userList('admin-grant-users');
  // Adding a grant: who (a user or a group), what (a study or a whole patient), for how long.
  const whoKind = h('select', { name: 'whoKind', 'aria-label': 'Grant to' }, h('option', { value: 'user', text: 'user' }), h('option', { value: 'group', text: 'group' }));
  const who = h('input', { name: 'who', required: true, maxlength: 128, autocomplete: 'off', list: 'admin-grant-users', 'aria-label': 'User or group name' });
  const whatKind = h('select', { name: 'whatKind', 'aria-label': 'What' }, h('option', { value: 'study', text: 'study (Study Instance UID)' }), h('option', { value: 'patient', text: 'patient (Patient ID)' }));
  const what = h('input', { name: 'what', required: true, maxlength: 64, autocomplete: 'off', 'aria-label': 'Study Instance UID or Patient ID' });
  const daysIn = h('input', { name: 'days', type: 'number', min: 1, max: 3660, 'aria-label': 'Days (empty: no expiry)', placeholder: 'no expiry' });
  const out = h('p', { class: 'result', 'aria-live': 'polite' });
  const form = h('form', { class: 'inline-form', 'aria-label': 'Add a grant' },
    h('label', {}, 'To', whoKind), h('label', {}, 'Name', who), h('label', {}, 'What', whatKind), h('label', {}, 'Identifier', what),
    h('label', {}, 'Days', daysIn), h('button', { type: 'submit', text: 'Add grant' }), out);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body: Record<string, unknown> = { [whoKind.value]: who.value.trim(), [whatKind.value === 'study' ? 'studyInstanceUid' : 'patientId']: what.value.trim() };
    if (daysIn.value) body.expiresInDays = Number(daysIn.value);
    // POST: the patient ID travels in the body, never in a URL.
    void postJson('/api/grants', body).then(rerender, (err: Error) => { out.textContent = err.message; });
  });

  // Filtering stays in the page: nothing typed here leaves the browser.
  const filter = h('input', { name: 'filter', type: 'search', autocomplete: 'off', 'aria-label': 'Filter grants', placeholder: 'who, what or granted by' });
  const kind = h('select', { name: 'kindFilter', 'aria-label': 'Kind of grant' },
    h('option', { value: '', text: 'all kinds' }), h('option', { value: 'grant', text: 'grants' }), h('option', { value: 'break-glass', text: 'break-glass openings' }));
  const current = h('input', { type: 'checkbox', name: 'current' });
  const holder = h('div', { class: 'grant-list' });
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const now = Date.now();
    const shown = list.filter((g) => (!kind.value || g.kind === kind.value)
      && (!current.checked || g.expiresAt === null || Date.parse(g.expiresAt) > now)
      && (!q || [g.subjectName, g.studyInstanceUid ?? '', g.patientId ?? '', g.grantedBy].some((v) => v.toLowerCase().includes(q))));
    holder.replaceChildren(
      h('p', { class: 'hint', text: `${shown.length} of ${list.length} grant(s)` }),
      table(['Who', 'What', 'Kind', 'Expires', 'Granted by', 'When', ''], shown.map((g) => [
        `${g.subjectKind} ${g.subjectName}`,
        g.studyInstanceUid ? `study ${g.studyInstanceUid}` : `patient ${g.patientId ?? ''}`,
        g.kind === 'break-glass' ? h('span', { class: 'warn', text: `break-glass: ${g.reason ?? ''}` }) : 'grant',
        g.expiresAt === null ? 'never' : Date.parse(g.expiresAt) <= now ? `expired ${fmt(g.expiresAt)}` : fmt(g.expiresAt),
        g.grantedBy, fmt(g.createdAt),
        actionButton('Revoke', `Revoke this grant to ${g.subjectKind} ${g.subjectName}? Their access through it ends at once.`, () => del(`/api/grants/${enc(g.id)}`), rerender, `Revoke the grant to ${g.subjectKind} ${g.subjectName}`),
      ])));
  };
  for (const el of [filter, kind, current]) el.addEventListener('input', draw);
  draw();
  return [form, users, h('div', { class: 'inline-form', role: 'search' }, filter, kind, h('label', { class: 'inline' }, current, 'Only current')), holder];
}

export async function sessions(rerender: Rerender): Promise<Node[]> {
  const list = await getJson<{ id: string; username: string; method: string; createdAt: string; lastSeenAt: string; expiresAt: string; ip: string; userAgent: string }[]>('/api/admin/sessions');
  // Filtering stays in the page, as for grants.
  const filter = h('input', { name: 'filter', type: 'search', autocomplete: 'off', 'aria-label': 'Filter sessions', placeholder: 'user, address or browser' });
  const holder = h('div', { class: 'session-list' });
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const shown = list.filter((s) => !q || [s.username, s.ip, s.userAgent, s.method].some((v) => v.toLowerCase().includes(q)));
    holder.replaceChildren(
      h('p', { class: 'hint', text: `${shown.length} of ${list.length} session(s)` }),
      table(['User', 'Signed in', 'Last seen', 'From', 'Browser', 'How', 'Expires', ''], shown.map((s) => [
        s.username, fmt(s.createdAt), fmt(s.lastSeenAt), s.ip, s.userAgent.slice(0, 80), s.method, fmt(s.expiresAt),
        actionButton('End session', `Sign ${s.username} out of this session (from ${s.ip})?`, () => del(`/api/admin/sessions/${enc(s.id)}`), rerender, `End the session of ${s.username} from ${s.ip} signed in ${fmt(s.createdAt)}`),
      ])));
  };
  filter.addEventListener('input', draw);
  draw();
  return [h('p', { class: 'hint', text: 'Everyone signed in to the web app now. Ending a session signs that browser out at its next request; ending your own signs you out.' }),
    h('div', { class: 'inline-form', role: 'search' }, filter), holder];
}
