// Who is signed in: the identity service's /api/auth/me (CSRF token, MFA state, timeouts) and
// the API's /api/whoami (what this principal may do, so the app hides what would be refused).
import { HttpError, request, setCsrfToken } from './api.js';

export interface Me {
  username: string;
  role: string;
  permissions: string[];
  mfa?: unknown;
  /** Seconds without input before the app clears the screen and signs out. */
  idleSeconds: number;
}

export const DEFAULT_IDLE_SECONDS = 15 * 60;

export async function loadMe(): Promise<Me | undefined> {
  let auth: Record<string, unknown> = {};
  try {
    auth = await (await request('GET', '/api/auth/me', undefined, 'application/json', true)).json() as Record<string, unknown>;
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) return undefined;
    // 404: a server without the session service; credentials then come from the browser (Basic).
  }
  const csrf = auth.csrfToken ?? auth.csrf;
  setCsrfToken(typeof csrf === 'string' ? csrf : undefined);
  let who: { username: string; role: string; permissions: string[]; idleSeconds?: number };
  try {
    who = await (await request('GET', '/api/whoami', undefined, 'application/json', true)).json() as typeof who;
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) return undefined;
    throw e;
  }
  const idle = Number(who.idleSeconds);
  return { username: who.username, role: who.role, permissions: who.permissions, mfa: auth.mfa, idleSeconds: Number.isFinite(idle) && idle > 0 ? idle : DEFAULT_IDLE_SECONDS };
}

export async function logout(): Promise<void> {
  try { await request('POST', '/api/auth/logout', {}, 'application/json', true); } catch { /* already gone */ }
  setCsrfToken(undefined);
}
