// The share dialog on the study page: grant the study to a user or a group, or make a share link
// (expiry, single use, PIN, view-only) whose address is shown once; existing links for the study
// are listed with their use and can be revoked at once.
import { del, getJson, postJson } from './api.js';
import { h, table } from './dom.js';

interface ShareView { id: string; studyInstanceUid: string; access: string; expiresAt: string; singleUse: boolean; hasPin: boolean; createdBy: string; revokedAt: string | null; lastUsedAt: string | null; useCount: number }

const when = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 16) : '');

export function shareButton(study: string): HTMLElement {
  const button = h('button', { type: 'button', class: 'share', text: 'Share…' });
  button.addEventListener('click', () => {
    const d = shareDialog(study);
    document.body.append(d);
    d.showModal();
    d.addEventListener('close', () => d.remove());
  });
  return button;
}

function shareDialog(study: string): HTMLDialogElement {
  // Grant to a user or a group
  const who = h('input', { name: 'grantee', maxlength: 64, required: true, autocomplete: 'off' });
  const kind = h('select', { name: 'granteeKind' }, h('option', { value: 'user', text: 'user' }), h('option', { value: 'group', text: 'group' }));
  const grantDays = h('input', { name: 'grantDays', type: 'number', min: 1, max: 3660, placeholder: 'no end' });
  const grantOut = h('p', { class: 'result', role: 'status' });
  const grantForm = h('form', { class: 'inline-form', 'aria-label': 'Grant access' },
    h('label', {}, 'Grant to', kind), h('label', {}, 'Name', who), h('label', {}, 'Days', grantDays),
    h('button', { type: 'submit', text: 'Grant' }), grantOut);
  grantForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const body: Record<string, unknown> = { studyInstanceUid: study, [kind.value]: who.value.trim() };
    if (grantDays.value) body.expiresInDays = Number(grantDays.value);
    void postJson('/api/grants', body).then(() => { grantOut.textContent = `Granted to ${kind.value} ${who.value.trim()}.`; }, (err: Error) => { grantOut.textContent = err.message; });
  });

  // A share link
  const days = h('input', { name: 'linkDays', type: 'number', min: 1, max: 365, value: 7 });
  const single = h('input', { name: 'singleUse', type: 'checkbox' });
  const viewOnly = h('input', { name: 'viewOnly', type: 'checkbox' });
  viewOnly.checked = true;
  const pin = h('input', { name: 'pin', type: 'password', inputmode: 'numeric', maxlength: 12, autocomplete: 'new-password' });
  const linkOut = h('div', { class: 'link-result', role: 'status' });
  const list = h('div', { class: 'share-list' });
  const linkForm = h('form', { class: 'inline-form', 'aria-label': 'Create a share link' },
    h('label', {}, 'Expires in days', days), h('label', { class: 'inline' }, single, 'Single use'),
    h('label', { class: 'inline' }, viewOnly, 'View only (no download)'), h('label', {}, 'PIN (optional)', pin),
    h('button', { type: 'submit', text: 'Create link' }));
  linkForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void postJson<{ url: string }>('/api/shares', {
      studyInstanceUid: study, expiresInDays: Number(days.value) || undefined, singleUse: single.checked,
      access: viewOnly.checked ? 'view' : 'download', pin: pin.value || undefined,
    }).then((r) => {
      pin.value = '';
      const url = h('input', { class: 'share-url', readonly: true, 'aria-label': 'Share link', value: r.url });
      const copy = h('button', { type: 'button', text: 'Copy' });
      copy.addEventListener('click', () => { url.select(); void navigator.clipboard?.writeText(r.url).catch(() => undefined); });
      linkOut.replaceChildren(h('p', { text: 'The link is shown only now. Send it and the PIN by different ways.' }), url, copy);
      void refresh();
    }, (err: Error) => { linkOut.replaceChildren(h('p', { class: 'error', text: err.message })); });
  });

  const refresh = async () => {
    let shares: ShareView[];
    try { shares = (await getJson<ShareView[]>('/api/shares')).filter((s) => s.studyInstanceUid === study); } catch (e) { list.replaceChildren(h('p', { class: 'error', text: (e as Error).message })); return; }
    list.replaceChildren(shares.length ? table(['Created by', 'Expires', 'Options', 'Used', 'State', ''], shares.map((s) => {
      const revoke = h('button', { type: 'button', text: 'Revoke' });
      revoke.addEventListener('click', () => { void del(`/api/shares/${encodeURIComponent(s.id)}`).then(refresh, (err: Error) => alert(err.message)); });
      return [s.createdBy, when(s.expiresAt), [s.singleUse ? 'single use' : '', s.hasPin ? 'PIN' : '', s.access === 'view' ? 'view only' : 'download'].filter(Boolean).join(', '),
        `${s.useCount}×${s.lastUsedAt ? ` (last ${when(s.lastUsedAt)})` : ''}`, s.revokedAt ? 'revoked' : 'active', s.revokedAt ? '' : revoke];
    })) : h('p', { class: 'hint', text: 'No links for this study yet.' }));
  };
  void refresh();

  const close = h('button', { type: 'button', text: 'Close' });
  const dialog = h('dialog', { class: 'share-dialog', 'aria-label': 'Share this study' },
    h('h2', { text: 'Share this study' }),
    h('h3', { text: 'With a user or group' }), grantForm,
    h('h3', { text: 'With a link' }), linkForm, linkOut,
    h('h3', { text: 'Links to this study' }), list, close);
  close.addEventListener('click', () => dialog.close());
  return dialog;
}
