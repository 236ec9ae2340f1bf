// The HTTP door: authentication on every route but the liveness check, then the DICOMweb
// routes under their prefix. Listening beyond loopback requires TLS.
import { readFile } from 'node:fs/promises';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { Node } from '../app.js';
import { isLoopback } from '../config/schema.js';
import { RampartError, notFound } from '../errors.js';
import { ensureCertificate } from '../security/crypto/node-cert.js';
import type { Principal } from '../security/principal.js';
import { SECURITY_SCAN_PATH, securityScanRoute } from './api/security-scan.js';
import { registerAuditApi } from './api/audit.js';
import { registerBreakGlassApi } from './api/break-glass.js';
import { registerGrantsApi } from './api/grants.js';
import { registerSharesApi } from './api/shares.js';
import { shareHandler } from './share-page.js';
import { registerDelete } from './dicomweb/delete.js';
import type { DicomWebDeps } from './dicomweb/context.js';
import { registerQido } from './dicomweb/qido.js';
import { registerStow } from './dicomweb/stow.js';
import { registerWado } from './dicomweb/wado.js';
import { registerWadoUri } from './dicomweb/wado-uri.js';
import { registerAuthApi, registerAuthPublic, type AuthApiDeps } from './api/auth-routes.js';
import { registerOidcRoutes } from './api/oidc-routes.js';
import { registerPasskeyApi, registerPasskeyPublic, relyingPartyFor } from './api/passkey-routes.js';
import { authenticateRequest, SessionCookies, type Caller } from './api/session-http.js';
import { sendError } from './http-errors.js';
import { registerAdminGroupsApi } from './api/admin-groups.js';
import { registerAdminApi } from './api/admin.js';
import { registerWorklist } from './api/worklist.js';
import { APP_PREFIX, AppFiles, SHARE_VIEW, SIGN_IN_OPTIONS } from './app-static.js';
import { Router } from './router.js';
import { setSecurityHeaders } from './security-headers.js';

export interface HttpDoor { server: Server; url: string; close(): Promise<void> }

export function createHandler(node: Node, tls: boolean, log: (m: string) => void) {
  const cfg = node.config;
  const router = new Router<Principal>();
  const deps: DicomWebDeps = {
    ingest: node.ingest, query: node.query, retrieve: node.retrieve, render: node.render, deleter: node.deleter,
    limits: { maxBodyBytes: cfg.dicomweb.maxBodyBytes, maxParts: cfg.dicomweb.maxPartsPerRequest, maxInstanceBytes: cfg.storage.maxInstanceBytes },
    baseUrl: (req) => {
      // Under a share link the study's URLs stay under the link, where its session cookie goes.
      const shared = /^\/s\/(rsh_[A-Za-z0-9_-]{43})\/dicom-web\//.exec(req.url ?? '');
      return `${tls ? 'https' : 'http'}://${safeHost(req.headers.host, cfg.http.host, cfg.http.port)}${shared ? `/s/${shared[1]}/dicom-web` : cfg.dicomweb.prefix}`;
    },
  };
  registerQido(router, deps);
  registerWado(router, deps);
  registerStow(router, deps);
  registerDelete(router, deps);
  registerWadoUri(router, deps);
  const prefix = cfg.dicomweb.prefix;
  const cookies = new SessionCookies(tls, cfg.auth.sessionAbsoluteSeconds);
  const authDeps: AuthApiDeps = {
    authenticator: node.authenticator, sessions: node.sessions, mfa: node.mfa, accounts: node.index, audit: node.audit, cookies,
    passkeys: node.passkeys, relyingParty: relyingPartyFor(tls, cfg.auth.webauthnRpId, cfg.auth.webauthnOrigin),
  };
  // The sign-in endpoints, reachable without a session; they say nothing about data.
  const publicRoutes = new Router<null>();
  registerAuthPublic(publicRoutes, authDeps);
  registerPasskeyPublic(publicRoutes, authDeps);
  if (node.sso) registerOidcRoutes(publicRoutes, authDeps, node.sso, tls);
  const api = new Router<Caller>();
  registerAuthApi(api, authDeps);
  registerPasskeyApi(api, authDeps);
  // The web app's JSON API (worklist, administration): its handlers take the caller's principal.
  const appApi = new Router<Principal>();
  registerWorklist(appApi, deps);
  registerAdminApi(appApi, {
    admin: node.admin, config: cfg, httpTls: tls,
    usersWithoutMfa: async () => {
      const out: string[] = [];
      for (const u of await node.index.listUsers()) {
        if (u.disabled) continue;
        const m = await node.mfa.state(u.id);
        if (!m.totp && m.passkeys === 0) out.push(u.username);
      }
      return out;
    },
  });
  registerAdminGroupsApi(appApi, node.grants);
  const appFiles = AppFiles.load();
  // The rest of the JSON API (audit, grants, break-glass, shares) sees the caller's principal.
  const api2 = new Router<Principal>();
  registerAuditApi(api2, { reports: node.auditReports, source: node.auditSource });
  registerGrantsApi(api2, node);
  registerBreakGlassApi(api2, node);
  const origin = (req: IncomingMessage) => cfg.access.publicUrl ?? `${tls ? 'https' : 'http'}://${safeHost(req.headers.host, cfg.http.host, cfg.http.port)}`;
  registerSharesApi(api2, node, origin);
  const share = shareHandler(node, router, tls, log);

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    setSecurityHeaders(res, tls);
    res.setHeader('cache-control', 'no-store');
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      const read = req.method === 'GET' || req.method === 'HEAD';
      if (url.pathname === '/healthz' && read) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok\n');
        return;
      }
      // The app's static files hold no data: they are served without credentials.
      if (read && url.pathname === SIGN_IN_OPTIONS) {
        // What the sign-in page offers; no data, so no credentials.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ sso: node.sso !== undefined }));
        return;
      }
      if (read && (url.pathname === '/app' || url.pathname.startsWith(APP_PREFIX))) {
        if (!(await appFiles).serve(req, res, url.pathname)) throw notFound();
        return;
      }
      // The app, in share mode, for a share link's recipient: the page holds no data; the images
      // come from /s/<token>/dicom-web with the share session's cookie.
      if (read && SHARE_VIEW.test(url.pathname)) {
        if (!(await appFiles).serve(req, res, APP_PREFIX)) throw notFound();
        return;
      }
      // Share links are the one deliberately anonymous door besides /healthz and sign-in; the link is the credential.
      if (url.pathname.startsWith('/s/')) {
        await share(req, res, url.pathname, url.searchParams);
        return;
      }
      const open = publicRoutes.match(req.method ?? 'GET', url.pathname);
      if (open !== undefined && open !== 'method') {
        await open.handler({ req, res, params: open.params, query: url.searchParams, principal: null });
        return;
      }
      const isApi = url.pathname === '/api' || url.pathname.startsWith('/api/');
      // Authenticate before saying anything about the route: no door answers anonymously.
      const caller = await authenticateRequest(req, res, node.authenticator, node.sessions, cookies, isApi ? 'api' : 'dicomweb');
      if (url.pathname === SECURITY_SCAN_PATH) { await securityScanRoute(req, res, caller.principal, cfg.dataDir); return; }
      if (isApi) {
        const a = api.match(req.method ?? 'GET', url.pathname);
        if (a !== undefined && a !== 'method') {
          await a.handler({ req, res, params: a.params, query: url.searchParams, principal: caller });
          return;
        }
        const b = appApi.match(req.method ?? 'GET', url.pathname);
        if (b !== undefined && b !== 'method') {
          await b.handler({ req, res, params: b.params, query: url.searchParams, principal: caller.principal });
          return;
        }
        const c = api2.match(req.method ?? 'GET', url.pathname);
        if (c !== undefined && c !== 'method') {
          await c.handler({ req, res, params: c.params, query: url.searchParams, principal: caller.principal });
          return;
        }
        if (a === 'method' || b === 'method' || c === 'method') throw new RampartError('bad-request', `method ${req.method} is not allowed here`);
        throw notFound();
      }
      const principal = caller.principal;
      if (url.pathname !== prefix && !url.pathname.startsWith(prefix + '/')) throw notFound();
      const m = router.match(req.method ?? 'GET', url.pathname.slice(prefix.length) || '/');
      if (m === undefined) throw notFound();
      if (m === 'method') throw new RampartError('bad-request', `method ${req.method} is not allowed here`);
      await m.handler({ req, res, params: m.params, query: url.searchParams, principal });
    } catch (e) {
      if ((req.url ?? '').startsWith('/api/') && !res.headersSent) res.setHeader('www-authenticate', 'Bearer realm="rampart"');
      sendError(res, e, log);
      // An upload we refused is not read further: close the connection after the answer.
      if (!req.complete) res.once('finish', () => req.destroy());
    }
  };
}

/** The Host header only names the authority in URLs we return if it looks like one. */
function safeHost(host: string | undefined, fallbackHost: string, port: number): string {
  if (host && /^[A-Za-z0-9.\-:[\]]{1,255}$/.test(host)) return host;
  return `${fallbackHost.includes(':') ? `[${fallbackHost}]` : fallbackHost}:${port}`;
}

export async function startHttp(node: Node, log: (m: string) => void): Promise<HttpDoor> {
  const cfg = node.config.http;
  const tls = cfg.tls || !isLoopback(cfg.host) || cfg.tlsCert !== null;
  let server: Server;
  if (tls) {
    const files = cfg.tlsCert && cfg.tlsKey ? { cert: cfg.tlsCert, key: cfg.tlsKey } : await ensureCertificate(node.config.dataDir);
    server = createHttps({ cert: await readFile(files.cert), key: await readFile(files.key), minVersion: 'TLSv1.2' });
  } else {
    server = createHttp();
  }
  const handler = createHandler(node, tls, log);
  server.on('request', (req, res) => { void handler(req, res); });
  server.on('connection', (s) => s.setNoDelay(true));
  server.on('secureConnection', (s) => s.setNoDelay(true));
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // large uploads may take long; idle sockets are closed by keepAliveTimeout
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  return {
    server,
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}
