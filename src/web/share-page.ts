// The share-link door, /s/<token>: no account needed. GET shows a page to open the link (with a
// PIN field when it has one); POST opens it (one use, PIN checked) and sets a share-session cookie
// scoped to this link's path; then GET shows the study (date, description, series with counts)
// and /s/<token>/dicom-web/... serves that one study's DICOMweb resources, read-only. Pages are
// plain HTML with escaped text, a strict CSP and no script. Nothing here says anything about
// other data: every other path or study answers 404.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Node } from '../app.js';
import { notFound, RampartError, tooLarge } from '../errors.js';
import type { JsonDataSet } from '../dicom/json.js';
import type { Principal } from '../security/principal.js';
import { ShareRefused, type ShareRefusal } from '../services/shares.js';
import { sendError } from './http-errors.js';
import type { Router } from './router.js';

const COOKIE = 'rampart_share';
const CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const REFUSAL: Record<ShareRefusal, [number, string]> = {
  invalid: [404, 'This link is not valid.'],
  expired: [410, 'This link has expired.'],
  revoked: [410, 'This link was withdrawn by the person who shared it.'],
  used: [410, 'This link could be opened only once, and it has been.'],
  locked: [403, 'This link is locked after too many wrong PINs.'],
  'pin-required': [401, 'This link needs its PIN.'],
  'wrong-pin': [401, 'That PIN is not right.'],
};

function page(res: ServerResponse, status: number, title: string, body: string, headers: Record<string, string> = {}): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(html)),
    'content-security-policy': CSP, 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY', ...headers,
  });
  res.end(html);
}

function cookieValue(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === COOKIE && v && /^[A-Za-z0-9_-]{20,64}$/.test(v)) return v;
  }
  return undefined;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1024) throw tooLarge('form too large');
    chunks.push(c as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const first = (ds: JsonDataSet, tag: string): string => {
  const v = ds[tag]?.Value?.[0];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
};

const openForm = (needsPin: boolean, message = ''): string =>
  `${message ? `<p>${escapeHtml(message)}</p>` : ''}<p>Someone shared a study with you.</p><form method="post">` +
  (needsPin ? '<label>PIN <input name="pin" type="password" inputmode="numeric" autocomplete="off" maxlength="12" required></label> ' : '') +
  '<button type="submit">Open the study</button></form>';

export function shareHandler(node: Node, dicomweb: Router<Principal>, tls: boolean, log: (m: string) => void) {
  const shares = node.shares;

  async function studyPage(res: ServerResponse, p: Principal, token: string): Promise<void> {
    const uid = p.share!.studyInstanceUid;
    const keys = new Map([['0020000D', uid]]);
    const study = (await node.query.search(p, { level: 'STUDY', keys, includeFields: new Set(['00080020', '00081030']) })).rows[0];
    if (!study) { page(res, 404, 'Not found', '<p>The shared study is no longer stored here.</p>'); return; }
    const series = (await node.query.search(p, { level: 'SERIES', keys, includeFields: new Set(['0008103E', '00080060', '00200011', '00201209']) })).rows;
    const rows = series.map((s) => `<tr><td>${escapeHtml(first(s, '00200011'))}</td><td>${escapeHtml(first(s, '00080060'))}</td><td>${escapeHtml(first(s, '0008103E'))}</td><td>${escapeHtml(first(s, '00201209'))}</td></tr>`).join('');
    const date = first(study, '00080020');
    page(res, 200, 'Shared study',
      `<p>Study date: ${escapeHtml(date.replace(/^(\d{4})(\d{2})(\d{2})$/, '$1-$2-$3'))}</p><p>Description: ${escapeHtml(first(study, '00081030'))}</p>` +
      `<table><thead><tr><th>Series</th><th>Modality</th><th>Description</th><th>Images</th></tr></thead><tbody>${rows}</tbody></table>` +
      `<p>${p.share!.access === 'download' ? 'You may view and download this study.' : 'You may view this study; downloads are not allowed.'}</p>` +
      `<p><a href="/s/${escapeHtml(token)}/view">Open the images in the viewer</a></p>` +
      `<p>DICOMweb root for a viewer: <code>/s/${escapeHtml(token)}/dicom-web</code></p>`);
  }

  return async (req: IncomingMessage, res: ServerResponse, pathname: string, query: URLSearchParams): Promise<void> => {
    const ip = req.socket.remoteAddress ?? '';
    const m = /^\/s\/([^/]{1,100})(\/.*)?$/.exec(pathname);
    try {
      if (!m) throw notFound();
      const token = m[1]!, rest = m[2] ?? '';
      if (rest === '' || rest === '/') {
        if (req.method === 'POST') {
          const form = await readForm(req);
          try {
            const s = await shares.open(token, form.get('pin') ?? undefined, ip);
            const maxAge = Math.max(1, Math.floor((s.expiresAt.getTime() - Date.now()) / 1000));
            res.writeHead(303, {
              location: `/s/${token}`, 'referrer-policy': 'no-referrer', 'content-security-policy': CSP,
              'set-cookie': `${COOKIE}=${s.sessionId}; Path=/s/${token}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${tls ? '; Secure' : ''}`,
            });
            res.end();
          } catch (e) {
            if (!(e instanceof ShareRefused)) throw e;
            const [status, text] = REFUSAL[e.refusal];
            if (e.refusal === 'wrong-pin' || e.refusal === 'pin-required') page(res, status, 'Shared study', openForm(true, text));
            else page(res, status, 'Shared study', `<p>${escapeHtml(text)}</p>`);
          }
          return;
        }
        if (req.method !== 'GET' && req.method !== 'HEAD') throw notFound();
        const p = await shares.session(token, cookieValue(req), ip);
        if (p) { await studyPage(res, p, token); return; }
        try {
          const { needsPin } = await shares.inspect(token);
          page(res, 200, 'Shared study', openForm(needsPin));
        } catch (e) {
          if (!(e instanceof ShareRefused)) throw e;
          const [status, text] = REFUSAL[e.refusal];
          page(res, status, 'Shared study', `<p>${escapeHtml(text)}</p>`);
        }
        return;
      }
      // The study's DICOMweb resources, read-only, for the session's principal (scope: the one study).
      if (!rest.startsWith('/dicom-web/')) throw notFound();
      if (req.method !== 'GET' && req.method !== 'HEAD') throw notFound();
      const p = await shares.session(token, cookieValue(req), ip);
      if (!p) throw notFound();
      const r = dicomweb.match(req.method, rest.slice('/dicom-web'.length));
      if (r === undefined || r === 'method') throw notFound();
      res.setHeader('referrer-policy', 'no-referrer');
      await r.handler({ req, res, params: r.params, query, principal: p });
    } catch (e) {
      // Refused downloads and anything else outside the link answer like a missing resource.
      sendError(res, e instanceof RampartError && e.code === 'access-denied' ? new RampartError('access-denied', 'not allowed through this link') : e, log);
    }
  };
}
