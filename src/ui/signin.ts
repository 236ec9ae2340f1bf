// The sign-in page: local password, then a TOTP or recovery code when the account has a second
// factor, and the single sign-on button when the server has one configured.
import { HttpError, request } from './api.js';
import { h } from './dom.js';
import { assertPasskey, passkeysAvailable } from './passkey.js';

export function signInPage(onSignedIn: () => void, message?: string): HTMLElement {
  const error = h('p', { class: 'error', role: 'alert' });
  if (message) error.textContent = message;
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, maxlength: 64 });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxlength: 1024 });
  const form = h('form', { class: 'signin', 'aria-label': 'Sign in' },
    h('h1', { text: 'Rampart' }),
    h('label', {}, 'User name', user),
    h('label', {}, 'Password', pass),
    h('button', { type: 'submit', text: 'Sign in' }),
    error);
  const sso = h('a', { class: 'sso', hidden: true, text: 'Sign in with single sign-on' });
  sso.href = '/api/auth/oidc/login';
  void fetch('/app/sign-in-options.json', { credentials: 'omit' }).then(async (r) => {
    if (r.ok && ((await r.json()) as { sso?: boolean }).sso) sso.hidden = false;
  }).catch(() => undefined);
  const page = h('main', { class: 'signin-page' }, form, sso);

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    error.textContent = '';
    void (async () => {
      try {
        const r = await (await request('POST', '/api/auth/login', { username: user.value, password: pass.value }, 'application/json', true)).json() as { mfaRequired?: boolean; methods?: string[] };
        pass.value = '';
        if (r.mfaRequired) page.replaceChildren(mfaForm(onSignedIn, r.methods ?? []));
        else onSignedIn();
      } catch (e) {
        error.textContent = e instanceof HttpError && (e.status === 401 || e.status === 400) ? 'The user name or password is not right.' : e instanceof HttpError && e.status === 429 ? 'Too many attempts. Wait a moment and try again.' : 'Signing in failed.';
      }
    })();
  });
  return page;
}

function mfaForm(onSignedIn: () => void, methods: string[]): HTMLElement {
  const code = h('input', { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 64, required: true });
  const recovery = h('input', { name: 'recovery', type: 'checkbox' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'signin', 'aria-label': 'Second factor' },
    h('h1', { text: 'Second factor' }),
    h('label', {}, 'Code from your authenticator app', code),
    h('label', { class: 'inline' }, recovery, 'This is a recovery code'),
    h('button', { type: 'submit', text: 'Continue' }),
    error);
  if (methods.includes('passkey') && passkeysAvailable()) {
    const use = h('button', { type: 'button', class: 'passkey', text: 'Use a passkey' });
    use.addEventListener('click', () => {
      void (async () => {
        try {
          const options = await (await request('POST', '/api/auth/mfa/passkey-options', {}, 'application/json', true)).json();
          await request('POST', '/api/auth/mfa', { passkey: await assertPasskey(options) }, 'application/json', true);
          onSignedIn();
        } catch {
          error.textContent = 'The passkey was not accepted.';
        }
      })();
    });
    form.insertBefore(use, error);
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      try {
        await request('POST', '/api/auth/mfa', recovery.checked ? { recoveryCode: code.value.trim() } : { code: code.value.trim() }, 'application/json', true);
        onSignedIn();
      } catch {
        error.textContent = 'That code is not right.';
      }
    })();
  });
  return form;
}
