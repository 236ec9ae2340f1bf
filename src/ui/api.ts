// Talking to the server: same-origin fetches with the session cookie, the CSRF token on every
// unsafe request, and one place that notices a lost session. Filters travel in request bodies,
// never in URLs.

export class HttpError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

let csrfToken: string | undefined;
let onUnauthenticated: () => void = () => undefined;

export function setCsrfToken(t: string | undefined): void { csrfToken = t; }
export function onSessionLost(fn: () => void): void { onUnauthenticated = fn; }

/** The DICOMweb root: the archive's, or a share link's own (share mode). */
export let DICOMWEB = '/dicom-web';
export function setDicomWebRoot(root: string): void { DICOMWEB = root; }

export async function request(method: string, path: string, body?: unknown, accept = 'application/json', quiet401 = false): Promise<Response> {
  const headers: Record<string, string> = { accept };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin', cache: 'no-store', redirect: 'error', referrerPolicy: 'no-referrer',
  });
  if (res.status === 401 && !quiet401) onUnauthenticated();
  if (!res.ok) {
    let message = res.statusText;
    try { const j = await res.json() as { message?: string }; if (typeof j.message === 'string') message = j.message; } catch { /* not JSON */ }
    throw new HttpError(res.status, message);
  }
  return res;
}

export async function getJson<T>(path: string, accept = 'application/json'): Promise<T> {
  return (await request('GET', path, undefined, accept)).json() as Promise<T>;
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return (await request('POST', path, body)).json() as Promise<T>;
}

export async function del(path: string): Promise<void> {
  await request('DELETE', path);
}
