// "My account": the signed-in user's second factor (set up an authenticator app, get recovery
// codes) and their sessions (where they are signed in, and signing any of them out).
import { del, getJson, postJson } from './api.js';
import { h, table } from './dom.js';
import { createPasskey, passkeysAvailable } from './passkey.js';

interface MfaState { totp: boolean; passkeys: number; recoveryCodesLeft: number }
interface SessionView { id: string; createdAt: string; lastSeenAt: string; expiresAt: string; ip: string | null; userAgent: string | null; method: string; current: boolean }

const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').slice(0, 16) : '');

export function accountPage(): HTMLElement {
  const mfa = h('section', { class: 'mfa', 'aria-label': 'Second factor' });
  const sessions = h('section', { class: 'sessions', 'aria-label': 'Sessions' });
  void renderMfa(mfa);
  void renderSessions(sessions);
  return h('main', { class: 'account' }, h('h1', { text: 'My account' }), h('h2', { text: 'Second factor' }), mfa, h('h2', { text: 'Where you are signed in' }), sessions);
}

async function renderMfa(out: HTMLElement): Promise<void> {
  let state: MfaState;
  try { state = (await getJson<{ mfa: MfaState }>('/api/auth/me')).mfa; } catch (e) { out.replaceChildren(h('p', { class: 'error', text: (e as Error).message })); return; }
  const addPasskey = h('button', { type: 'button', text: 'Add a passkey' });
  addPasskey.hidden = !passkeysAvailable();
  addPasskey.addEventListener('click', () => {
    void (async () => {
      try {
        const options = await postJson('/api/auth/passkeys/options', {});
        await postJson('/api/auth/passkeys', { response: await createPasskey(options), name: 'passkey' });
        await renderMfa(out);
      } catch (e) {
        out.append(h('p', { class: 'error', text: `The passkey was not added: ${(e as Error).message}` }));
      }
    })();
  });
  if (state.totp || state.passkeys > 0) {
    out.replaceChildren(h('p', { class: 'ok', text: `A second factor is set up${state.totp ? ' (authenticator app)' : ''}${state.passkeys ? `, ${state.passkeys} passkey(s)` : ''}. Recovery codes left: ${state.recoveryCodesLeft}.` }), addPasskey);
    return;
  }
  const start = h('button', { type: 'button', text: 'Set up an authenticator app' });
  start.addEventListener('click', () => {
    void postJson<{ secret: string; qrSvg: string }>('/api/auth/totp/enrol', {}).then((enrol) => {
      const qr = h('img', { class: 'qr', alt: 'QR code for the authenticator app', width: 200, height: 200 });
      // The server's own SVG of the otpauth URI, shown as an image: nothing in it can run.
      qr.src = `data:image/svg+xml;base64,${btoa(enrol.qrSvg)}`;
      const code = h('input', { name: 'totp-code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 8, required: true });
      const msg = h('p', { class: 'result', role: 'status' });
      const form = h('form', { class: 'inline-form', 'aria-label': 'Confirm the authenticator app' },
        h('label', {}, 'Code from the app', code), h('button', { type: 'submit', text: 'Confirm' }), msg);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        void postJson<{ recoveryCodes: string[] }>('/api/auth/totp/confirm', { code: code.value.trim() }).then((r) => {
          out.replaceChildren(h('p', { class: 'ok', text: 'The authenticator app is set up. Keep these recovery codes somewhere safe; each works once. They are shown only now.' }),
            h('ol', { class: 'recovery-codes' }, ...r.recoveryCodes.map((c) => h('li', {}, h('code', { text: c })))));
        }, (err: Error) => { msg.textContent = err.message; });
      });
      out.replaceChildren(h('p', { text: 'Scan the code with your authenticator app, or type the key, then enter the code it shows.' }), qr,
        h('p', {}, 'Key: ', h('code', { class: 'totp-secret', text: enrol.secret })), form);
    }, (err: Error) => { out.append(h('p', { class: 'error', text: err.message })); });
  });
  out.replaceChildren(h('p', { class: 'warn', text: 'Your account has no second factor: a stolen password is enough to sign in as you.' }), start, addPasskey);
}

async function renderSessions(out: HTMLElement): Promise<void> {
  let list: SessionView[];
  try { list = await getJson<SessionView[]>('/api/auth/sessions'); } catch (e) { out.replaceChildren(h('p', { class: 'hint', text: `Sessions are not available: ${(e as Error).message}` })); return; }
  out.replaceChildren(table(['Signed in', 'Last seen', 'Ends', 'Address', 'Browser', 'How', ''], list.map((s) => {
    const end = h('button', { type: 'button', text: s.current ? 'This one' : 'Sign out' });
    end.disabled = s.current;
    end.addEventListener('click', () => { void del(`/api/auth/sessions/${encodeURIComponent(s.id)}`).then(() => renderSessions(out), (err: Error) => alert(err.message)); });
    return [when(s.createdAt), when(s.lastSeenAt), when(s.expiresAt), s.ip ?? '', (s.userAgent ?? '').slice(0, 60), s.method, end];
  })));
}
