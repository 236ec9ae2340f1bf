// The administration pages: users and roles, API tokens, DICOM peers, settings with their
// security meaning, and the security status (groups, grants and sessions are in admin-access.ts).
// All of it goes through /api/admin and /api/grants, which check the permission and audit each change.
import { del, getJson, postJson, type HttpError } from './api.js';
import { actionButton, fmt, type Rerender } from './admin-common.js';
import { grants, groups, sessions } from './admin-access.js';
import { h, link, table } from './dom.js';

type Page = 'users' | 'groups' | 'grants' | 'sessions' | 'tokens' | 'peers' | 'settings' | 'security';
const PAGES: [Page, string][] = [
  ['users', 'Users'], ['groups', 'Groups'], ['grants', 'Grants'], ['sessions', 'Sessions'], ['tokens', 'API tokens'],
  ['peers', 'DICOM peers'], ['settings', 'Settings'], ['security', 'Security status'],
];
const ROLES = ['admin', 'radiologist', 'technologist', 'referring', 'auditor', 'external'];

export function adminPage(which: string): HTMLElement {
  const page = (PAGES.find(([p]) => p === which)?.[0] ?? 'users');
  const body = h('section', { class: 'admin-body' }, h('p', { text: 'Loading…' }));
  const nav = h('nav', { class: 'admin-nav', 'aria-label': 'Administration' }, ...PAGES.map(([p, label]) => {
    const a = link(`/admin/${p}`, label);
    if (p === page) a.setAttribute('aria-current', 'page');
    return a;
  }));
  const render = async () => {
    try {
      body.replaceChildren(...await ({ users, groups, grants, sessions, tokens, peers, settings, security }[page])(render));
    } catch (e) {
      body.replaceChildren(h('p', { class: 'error', role: 'alert', text: (e as Error).message }));
    }
  };
  void render();
  return h('main', { class: 'admin' }, h('h1', { text: PAGES.find(([p]) => p === page)![1] }), nav, body);
}


async function users(rerender: Rerender): Promise<Node[]> {
  const [list, me] = await Promise.all([
    getJson<{ username: string; role: string; disabled: boolean; createdAt: string }[]>('/api/admin/users'),
    getJson<{ username: string }>('/api/whoami'),
  ]);
  const name = h('input', { name: 'username', required: true, maxlength: 64, autocomplete: 'off' });
  const role = h('select', { name: 'role' }, ...ROLES.map((r) => h('option', { value: r, text: r })));
  const out = h('p', { class: 'result', 'aria-live': 'polite' });
  const form = h('form', { class: 'inline-form', 'aria-label': 'Add a user' }, h('label', {}, 'User name', name), h('label', {}, 'Role', role), h('button', { type: 'submit', text: 'Add user' }), out);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void postJson<{ password: string }>('/api/admin/users', { username: name.value, role: role.value }).then(async (r) => {
      await rerender();
      // Shown once: the new user changes it at first sign-in.
      document.querySelector('.admin-body')?.prepend(h('p', { class: 'secret', role: 'status' }, 'Initial password (shown once): ', h('code', { text: r.password })));
    }, (err: Error) => { out.textContent = err.message; });
  });
  return [form, table(['User', 'Role', 'State', 'Created', '', ''], list.map((u) => {
    const path = `/api/admin/users/${encodeURIComponent(u.username)}`;
    // One's own account cannot be demoted, disabled or removed here (the server refuses it too).
    if (u.username === me.username) return [u.username, u.role, h('span', { class: 'ok', text: 'active (you)' }), fmt(u.createdAt), '', ''];
    return [
      u.username, roleSelect(u.username, u.role, rerender),
      h('span', { class: u.disabled ? 'warn' : 'ok', text: u.disabled ? 'disabled' : 'active' }), fmt(u.createdAt),
      u.disabled
        ? actionButton('Enable', `Enable ${u.username} again? They can sign in again and their API tokens work again.`, () => postJson(`${path}/disabled`, { disabled: false }).then(() => undefined), rerender)
        : actionButton('Disable', `Disable ${u.username}? They are signed out at once and cannot sign in anywhere until enabled again.`, () => postJson(`${path}/disabled`, { disabled: true }).then(() => undefined), rerender),
      actionButton('Remove', `Remove the user ${u.username}? Their API tokens are revoked.`, () => del(path), rerender),
    ];
  }))];
}

/** The user's role, changed on the spot (after a confirmation; the server refuses locking out the last administrator). */
function roleSelect(username: string, current: string, rerender: Rerender): HTMLSelectElement {
  const sel = h('select', { name: `role-${username}`, 'aria-label': `Access level of ${username}` }, ...ROLES.map((r) => h('option', { value: r, text: r })));
  sel.value = current;
  sel.addEventListener('change', () => {
    const next = sel.value;
    if (!confirm(`Give ${username} the ${next} role instead of ${current}? It takes effect at their next request.`)) { sel.value = current; return; }
    void postJson(`/api/admin/users/${encodeURIComponent(username)}/role`, { role: next }).then(rerender, (e: Error) => { sel.value = current; alert(e.message); });
  });
  return sel;
}

async function tokens(rerender: Rerender): Promise<Node[]> {
  const list = await getJson<{ id: string; username: string; scopes: string[]; createdAt: string; expiresAt: string | null; revokedAt: string | null; lastUsedAt: string | null }[]>('/api/admin/tokens');
  return [h('p', { class: 'hint', text: 'Tokens are created on the command line (rampart token create) and shown once; here they can be reviewed and revoked.' }),
    table(['Id', 'User', 'Scopes', 'Created', 'Expires', 'Last used', 'State', ''], list.map((t) => [
      t.id.slice(0, 8), t.username, t.scopes.join(', '), fmt(t.createdAt), fmt(t.expiresAt) || 'never', fmt(t.lastUsedAt),
      t.revokedAt ? `revoked ${fmt(t.revokedAt)}` : 'active',
      t.revokedAt ? '' : actionButton('Revoke', 'Revoke this token? Programs using it stop working.', () => del(`/api/admin/tokens/${encodeURIComponent(t.id)}`), rerender),
    ]))];
}

async function peers(rerender: Rerender): Promise<Node[]> {
  const list = await getJson<{ aeTitle: string; host: string; port: number; allow: string[]; tls: boolean; certFingerprint: string | null; requireIdentity: boolean }[]>('/api/admin/peers');
  const ae = h('input', { name: 'aeTitle', required: true, maxlength: 16 });
  const host = h('input', { name: 'host', required: true, maxlength: 253 });
  const port = h('input', { name: 'port', type: 'number', min: 1, max: 65535, required: true });
  const services = ['echo', 'store', 'find', 'move', 'get'].map((s) => { const c = h('input', { type: 'checkbox', name: `allow-${s}`, value: s }); c.checked = s === 'echo' || s === 'store'; return c; });
  const tls = h('input', { type: 'checkbox', name: 'tls' });
  tls.checked = true;
  const out = h('p', { class: 'result', 'aria-live': 'polite' });
  const form = h('form', { class: 'inline-form', 'aria-label': 'Add a DICOM peer' },
    h('label', {}, 'AE title', ae), h('label', {}, 'Host', host), h('label', {}, 'Port', port),
    h('fieldset', {}, h('legend', { text: 'Allowed services' }), ...services.map((c) => h('label', { class: 'inline' }, c, c.value))),
    h('label', { class: 'inline' }, tls, 'Require DICOM TLS'), h('button', { type: 'submit', text: 'Add peer' }), out);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void postJson('/api/admin/peers', { aeTitle: ae.value, host: host.value, port: Number(port.value), allow: services.filter((c) => c.checked).map((c) => c.value), tls: tls.checked })
      .then(rerender, (err: Error) => { out.textContent = err.message; });
  });
  return [form, table(['AE title', 'Host', 'Port', 'Allowed', 'Transport', ''], list.map((p) => [
    p.aeTitle, p.host, String(p.port), p.allow.join(', '),
    h('span', { class: p.tls ? 'ok' : 'warn', text: p.tls ? `TLS${p.certFingerprint ? ', certificate pinned' : ''}` : 'plain DICOM (unencrypted)' }),
    actionButton('Remove', `Remove the peer ${p.aeTitle}? It can no longer connect.`, () => del(`/api/admin/peers/${encodeURIComponent(p.aeTitle)}`), rerender),
  ]))];
}

async function settings(): Promise<Node[]> {
  const list = await getJson<{ key: string; value: string; note: string }[]>('/api/admin/settings');
  return [h('p', { class: 'hint', text: 'The effective configuration (defaults, then the file, then the environment). It is changed in the configuration file and takes effect at the next start.' }),
    table(['Setting', 'Value', 'What it means for security'], list.map((s) => [h('code', { text: s.key }), s.value, s.note]))];
}

async function security(): Promise<Node[]> {
  const s = await getJson<{
    exposures: { service: string; address: string; encrypted: boolean; note: string }[];
    plainDicomPeers: { aeTitle: string; host: string; allow: string[] }[];
    usersWithoutMfa: string[] | null;
    findings: { level: string; text: string }[];
  }>('/api/admin/security');
  return [
    h('h2', { text: 'Findings' }),
    s.findings.length ? h('ul', { class: 'findings' }, ...s.findings.map((f) => h('li', { class: `finding ${f.level}` }, h('strong', { text: f.level }), ' ', f.text))) : h('p', { text: 'Nothing to report.' }),
    h('h2', { text: 'What listens where' }),
    table(['Service', 'Address', 'Encrypted', 'Note'], s.exposures.map((e) => [e.service, e.address, e.encrypted ? 'yes' : 'no', e.note])),
    h('h2', { text: 'Peers that accept plain DICOM' }),
    s.plainDicomPeers.length ? table(['AE title', 'Host', 'Allowed'], s.plainDicomPeers.map((p) => [p.aeTitle, p.host, p.allow.join(', ')])) : h('p', { text: 'None: every peer must use TLS.' }),
    h('h2', { text: 'Accounts without a second factor' }),
    s.usersWithoutMfa === null ? h('p', { text: 'Not known on this server.' }) : s.usersWithoutMfa.length ? h('ul', {}, ...s.usersWithoutMfa.map((u) => h('li', { text: u }))) : h('p', { text: 'Every account has a second factor.' }),
    h('h2', { text: 'Last exposure self-scan' }),
    await selfScan(),
  ];
}

/** The last `rampart scan --self` report: what a stranger's scanner would find on this node. */
async function selfScan(): Promise<Node> {
  let r: { finishedAt?: string; findings: { id: string; severity: string; title: string; target: string; fix: string }[] };
  try {
    r = await getJson('/api/admin/security-scan');
  } catch (e) {
    if ((e as HttpError).status === 404) return h('p', { class: 'hint', text: 'No self-scan has run yet: run `rampart scan --self` on the server (for example daily from cron).' });
    throw e;
  }
  const order = ['high', 'medium', 'low', 'info'];
  const list = [...r.findings].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity));
  return h('div', { class: 'self-scan' },
    h('p', { text: `${list.filter((f) => f.severity === 'high' || f.severity === 'medium').length} high or medium finding(s)${r.finishedAt ? `, scanned ${r.finishedAt.replace('T', ' ').slice(0, 16)} UTC` : ''}.` }),
    table(['Severity', 'Finding', 'Where', 'Fix'], list.map((f) => [h('span', { class: `finding ${f.severity}`, text: f.severity }), f.title, f.target, f.fix])));
}
