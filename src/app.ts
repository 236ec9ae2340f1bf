// The composition root: the one place that picks concrete adapters and wires the services.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from './config/schema.js';
import { patientEnricher } from './security/audit/enrich.js';
import type { AuditSource } from './security/audit/dicom-xml.js';
import { auditDir, auditSource, openAuditTrail, startForwarder } from './security/audit/open.js';
import { AuditReports } from './security/audit/reports.js';
import { AccessAlerts } from './security/audit/alerts.js';
import type { SyslogForwarder } from './security/audit/forwarder.js';
import type { AuditTrail } from './security/audit/trail.js';
import { Authenticator, createUser } from './security/authenticate.js';
import { systemPrincipal } from './security/principal.js';
import { AccessControl } from './services/access.js';
import { AdminService } from './services/admin.js';
import { MfaService } from './security/mfa.js';
import { PasskeyService } from './security/passkeys.js';
import { JwtBearer } from './security/oidc/jwt-bearer.js';
import { OidcProvider } from './security/oidc/provider.js';
import { OidcLogin } from './security/oidc/sso.js';
import { SessionManager } from './security/sessions.js';
import { DimseService } from './services/dimse.js';
import { GrantService } from './services/grants.js';
import { RateLimiter } from './services/rate-limit.js';
import { ShareService } from './services/shares.js';
import { IngestService } from './services/ingest.js';
import { QueryService } from './services/query.js';
import { DeleteService, RenderService, RetrieveService } from './services/retrieve.js';
import { FsBlobStore } from './store/blobs/fs-blob-store.js';
import type { KyselyIndexStore } from './store/index/kysely-index-store.js';
import { KyselyAccessStore } from './store/index/kysely-access-store.js';
import { KyselyAuthStore } from './store/index/kysely-auth-store.js';
import { KyselyPeerStore } from './store/index/kysely-peer-store.js';
import { openPostgresIndex } from './store/index/postgres.js';
import { openSqliteIndex } from './store/index/sqlite.js';
import { PixelPool } from './workers/pixel-pool.js';

export interface Node {
  config: Readonly<Config>;
  index: KyselyIndexStore;
  blobs: FsBlobStore;
  audit: AuditTrail;
  auditReports: AuditReports;
  auditSource: AuditSource;
  /** Sends the trail to the syslog audit repository (when configured and asked for). */
  forwarder?: SyslogForwarder;
  authenticator: Authenticator;
  /** Sessions, second factors, failure counters, SSO links (identity). */
  auth: KyselyAuthStore;
  sessions: SessionManager;
  mfa: MfaService;
  passkeys: PasskeyService;
  /** Single sign-on, when oidc.issuer is configured. */
  sso?: OidcLogin;
  ingest: IngestService;
  query: QueryService;
  retrieve: RetrieveService;
  render: RenderService;
  deleter: DeleteService;
  peers: KyselyPeerStore;
  dimse: DimseService;
  /** What start-up recovery found of an earlier process that stopped before its last index barrier. */
  recovered: { checked: number; reindexed: number; unreadable: number; torn: number };
  admin: AdminService;
  access: AccessControl;
  accessStore: KyselyAccessStore;
  grants: GrantService;
  shares: ShareService;
  close(): Promise<void>;
}

/**
 * forwardAudit: this process sends the trail to the syslog repository (serve does; short CLI
 * commands do not). `clock` lets tests move time for session and lockout limits without sleeping.
 */
export async function openNode(config: Readonly<Config>, opts: { forwardAudit?: boolean; clock?: () => Date } = {}): Promise<Node> {
  const clock = opts.clock ?? (() => new Date());
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const index = config.index.url === 'sqlite'
    ? await openSqliteIndex(join(config.dataDir, 'index.sqlite'))
    : await openPostgresIndex(config.index.url);
  const blobs = await new FsBlobStore(join(config.dataDir, 'blobs')).init();
  const audit = await openAuditTrail(config, patientEnricher(index));
  const alerts = new AccessAlerts(audit, {
    ...config.audit.alerts, canaryStudies: (config.audit.alerts.canaryStudies ?? '').split(',').map((x) => x.trim()).filter(Boolean),
  });
  audit.onEntry((e) => alerts.observe(e));
  const forwarder = opts.forwardAudit ? await startForwarder(config, audit) : undefined;
  const access = new AccessControl(index, config.access.mode);
  const limits = new RateLimiter(config.rateLimit);
  const retrieve = new RetrieveService({ index, blobs, audit, access, limits });
  const pixels = new PixelPool({
    size: config.render.workers, maxQueue: config.render.maxQueue, timeoutMs: config.render.jobTimeoutSeconds * 1000,
    limits: { maxSamples: config.render.maxDecodedSamples },
  });
  const render = new RenderService(retrieve, pixels, config.render);
  const accessStore = new KyselyAccessStore(index.db);
  const auth = new KyselyAuthStore(index.db);
  const authenticator = new Authenticator(index, clock, { auth, audit, lockout: config.auth.lockout, groups: accessStore });
  const sessions = new SessionManager(auth, index, { idleSeconds: config.auth.sessionIdleSeconds, absoluteSeconds: config.auth.sessionAbsoluteSeconds }, clock);
  const mfa = new MfaService(auth, config.auth.totpIssuer, clock);
  const passkeys = new PasskeyService(auth, sessions, config.auth.totpIssuer, clock);
  const sso = await openSso(config, index, auth, clock);
  if (sso) authenticator.useJwtVerifier(new JwtBearer(sso.provider, sso.login, { audience: config.oidc.audience ?? config.oidc.clientId!, scopeMap: config.oidc.scopeMap }, audit));
  const ingest = new IngestService({
    blobs, index, audit, access, overwrite: config.storage.overwrite, indexSyncMs: config.storage.indexSyncMs,
    limits: { maxInstanceBytes: config.storage.maxInstanceBytes },
  });
  // A process that stopped before its last index barrier (power loss) left a journal of where
  // its blobs went: they are indexed again before anything else runs.
  const recovered = await ingest.recover(systemPrincipal());
  const query = new QueryService({ index, audit, access, limits, maxResults: config.dicomweb.maxResults });
  const peers = new KyselyPeerStore(index.db);
  const dimse = new DimseService({ peers, authenticator, ingest, query, retrieve, render, blobs, audit }, {
    aeTitle: config.dimse.aeTitle, requireIdentity: config.dimse.requireIdentity,
    identityRequiresTls: config.dimse.identityRequiresTls, maxRetrieveInstances: config.dimse.maxRetrieveInstances,
  });
  return {
    config, index, blobs, audit, forwarder, authenticator, recovered, auth, sessions, mfa, passkeys, sso: sso?.login,
    auditReports: new AuditReports(auditDir(config), audit), auditSource: auditSource(config), ingest, query, retrieve, render, peers, dimse,
    access, accessStore,
    shares: new ShareService({ store: accessStore, access, audit, options: { maxDays: config.access.shareMaxDays, defaultDays: config.access.shareDefaultDays, pinAttempts: config.access.sharePinAttempts } }),
    grants: new GrantService({ accounts: index, store: accessStore, access, audit, breakGlassMinutes: config.access.breakGlassMinutes }),
    deleter: new DeleteService({ index, blobs, audit, access }),
    admin: new AdminService({ accounts: index, peers, audit, sessions }),
    async close() {
      await ingest.close().catch(() => undefined); // on failure the journal stays for the next start
      await blobs.close();
      await pixels.close();
      // The trail next: events still in flight may ask the index for their patients.
      await audit.close();
      await forwarder?.stop();
      await index.close();
    },
  };
}

/** The OpenID Provider and the SSO flow, when configured; the provider is contacted on first use, not at start. */
async function openSso(config: Readonly<Config>, index: KyselyIndexStore, auth: KyselyAuthStore, clock: () => Date) {
  const o = config.oidc;
  if (o.issuer === null) return undefined;
  if (o.redirectUri === null) throw new Error('configuration: oidc.redirectUri is required when oidc.issuer is set');
  const clientSecret = o.clientSecretFile === null ? null : (await readFile(o.clientSecretFile, 'utf8')).trim();
  const provider = new OidcProvider({ issuer: o.issuer, algorithms: o.algorithms, clockToleranceSeconds: o.clockToleranceSeconds }, clock);
  const login = new OidcLogin(provider, {
    clientId: o.clientId!, clientSecret, redirectUri: o.redirectUri, scopes: o.scopes,
    rolesClaim: o.rolesClaim, groupsClaim: o.groupsClaim, usernameClaim: o.usernameClaim, roleMap: o.roleMap,
  }, index, auth, clock);
  return { provider, login };
}

/**
 * On an empty installation, creates the administrator `admin` with a random password written
 * to DATA/initial-admin-password (0600). There is never a default password.
 */
export async function ensureInitialAdmin(node: Node): Promise<string | undefined> {
  if ((await node.index.listUsers()).length > 0) return undefined;
  const { password } = await createUser(node.index, 'admin', 'admin');
  const file = join(node.config.dataDir, 'initial-admin-password');
  await writeFile(file, password + '\n', { mode: 0o600, flag: 'w' });
  await chmod(file, 0o600);
  return file;
}
