// The configuration: one schema, defaults, then a JSON file, then RAMPART_* environment
// variables, then command-line flags. Validated once at start; an unknown or wrong key stops
// start-up with an error that names it. The result is frozen and passed down.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RampartError } from '../errors.js';

export interface Config {
  dataDir: string;
  http: {
    host: string;
    port: number;
    /** PEM files of the operator's certificate; when absent and TLS is needed, one is generated on first start. */
    tlsCert: string | null;
    tlsKey: string | null;
    /** Force HTTPS even on loopback. */
    tls: boolean;
  };
  dicomweb: {
    prefix: string;
    /** Largest STOW-RS request body. */
    maxBodyBytes: number;
    maxPartsPerRequest: number;
    /** Most rows one QIDO-RS answer carries. */
    maxResults: number;
  };
  storage: {
    /** What a second copy of a SOP Instance UID with other content does: reject (default), keep the first, or replace. */
    overwrite: 'reject' | 'keep' | 'replace';
    maxInstanceBytes: number;
    /**
     * Most milliseconds before an acknowledged store's index row is on disk (its blob always is
     * before the acknowledgement; start-up indexes it again if the power failed). 0: at once.
     */
    indexSyncMs: number;
  };
  index: {
    /** 'sqlite' (DATA/index.sqlite) or a postgres:// URL. */
    url: string;
  };
  dimse: {
    enabled: boolean;
    aeTitle: string;
    /** Addresses the DIMSE ports listen on (comma-separated); defaults to http.host. */
    host: string | null;
    /** Plain DICOM port; 0 picks a free one; null turns it off. */
    port: number | null;
    /** DICOM TLS port (PS3.15 B.12); null turns it off. */
    tlsPort: number | null;
    /** PEM files for DICOM TLS; the node's own certificate (DATA/tls) when absent. */
    tlsCert: string | null;
    tlsKey: string | null;
    maxAssociations: number;
    maxAssociationsPerPeer: number;
    maxPduLength: number;
    artimSeconds: number;
    idleSeconds: number;
    maxPendingOperations: number;
    /** Every peer must present a user identity (username+passcode or token). */
    requireIdentity: boolean;
    /** User identities are refused over plain TCP. */
    identityRequiresTls: boolean;
    maxRetrieveInstances: number;
  };
  /** The audit trail (docs/audit.md). */
  audit: {
    /** When the trail cannot be written, let the access go on (logged) instead of refusing it. */
    failOpen: boolean;
    /** PEM file of the operator's Ed25519 signing key; DATA/audit/signing-key.pem (made on first start) when absent. */
    signingKey: string | null;
    /** Group commit: entries are fsync'd at most this long after they are written. */
    syncIntervalMs: number;
    /** A signed checkpoint after this many entries (and every minute, and at stop). */
    checkpointEvery: number;
    /** A new trail file when this size is reached or the UTC day changes. */
    rotateBytes: number;
    syslog: {
      /** Audit record repository (RFC 5425 syslog over TLS); off when null. */
      host: string | null;
      port: number;
      /** PEM CA bundle the repository's certificate must chain to (system CAs when absent). */
      ca: string | null;
      /** Client certificate and key for mutual TLS, when the repository asks for one. */
      cert: string | null;
      key: string | null;
      /** SHA-256 fingerprint (hex, colons allowed) the repository's certificate must have. */
      fingerprint: string | null;
      /** TLS server name to check the certificate against (the host when absent). */
      serverName: string | null;
    };
    alerts: {
      /** Study Instance UIDs (comma-separated) whose every access raises an alert. */
      canaryStudies: string | null;
      /** A principal's instances/queries per hour above max(floor, factor x its own hourly average) raise an alert. */
      volumeFloor: number;
      volumeFactor: number;
      /** This many failures by one principal or address within the window raise an alert. */
      failures: number;
      failureWindowSeconds: number;
    };
  };
  /** Decoding and rendering pixel data (WADO-RS rendered/thumbnail, conversion of compressed objects). */
  render: {
    /** Worker threads that decode and render; 0 means one per CPU core. */
    workers: number;
    /** Jobs that may wait for a worker; beyond that a request is answered 503. */
    maxQueue: number;
    /** Most samples (rows x columns x samples per pixel x frames) one job may decode. */
    maxDecodedSamples: number;
    /** Most instances a study or series rendered request renders. */
    maxRenderedInstances: number;
    /** Longest side of a thumbnail, in pixels. */
    thumbnailSize: number;
    /** Longest side a viewport may ask for. */
    maxViewport: number;
    /** A job running longer than this is stopped and its worker replaced. */
    jobTimeoutSeconds: number;
  };
  access: {
    /** 'role': radiologists and technologists see everything; 'grants': only what is granted. Referring and external users always see only their grants. */
    mode: 'role' | 'grants';
    /** How long a break-glass opening lasts. */
    breakGlassMinutes: number;
    /** Longest lifetime of a share link, and the lifetime when none is asked. */
    shareMaxDays: number;
    shareDefaultDays: number;
    /** Wrong PINs before a share link stops accepting any. */
    sharePinAttempts: number;
    /** How share links are printed (scheme://host:port as recipients reach the node); from http.* when null. */
    publicUrl: string | null;
  };
  rateLimit: {
    /** Token buckets per principal: sustained requests per minute and the burst allowed on top. */
    queryPerMinute: number;
    queryBurst: number;
    retrievePerMinute: number;
    retrieveBurst: number;
    /** Bytes one principal may retrieve per hour (0 = no quota). */
    retrieveBytesPerHour: number;
  };
  /** Local sign-in: web sessions, lockout, second factors (docs/identity.md). */
  auth: {
    /** A web session ends after this long without a request (automatic logoff). */
    sessionIdleSeconds: number;
    /** A web session ends this long after sign-in, however active. */
    sessionAbsoluteSeconds: number;
    /** Lockout and back-off after failed passwords or second factors (security/lockout.ts). */
    lockout: {
      /** Failures of one account name (within the window) that lock it for lockSeconds. */
      maxFailures: number;
      /** Failures from one address (within the window) that lock that address for lockSeconds. */
      ipMaxFailures: number;
      /** Failures of one account allowed before back-off starts: after them, the next attempt waits 1 s, then 2 s, 4 s ... */
      freeFailures: number;
      /** Back-off doubles from 1 s after each failure past the free ones, up to this. */
      backoffMaxSeconds: number;
      /** A counter is forgotten when its last failure is older than this. */
      windowSeconds: number;
      lockSeconds: number;
    };
    /** The issuer name authenticator apps show next to the account. */
    totpIssuer: string;
    /** WebAuthn relying party id (a host name) and origin; derived from the request when absent. */
    webauthnRpId: string | null;
    webauthnOrigin: string | null;
  };
  /** Single sign-on and bearer JWTs from one OpenID Provider; off while issuer is null. */
  oidc: {
    issuer: string | null;
    clientId: string | null;
    /** File holding the client secret (never the secret itself in the configuration). */
    clientSecretFile: string | null;
    /** Where the provider sends the browser back: https://HOST/api/auth/oidc/callback. */
    redirectUri: string | null;
    scopes: string[];
    /** Claim (dotted path, e.g. realm_access.roles) whose values map to Rampart roles through roleMap. */
    rolesClaim: string;
    groupsClaim: string;
    usernameClaim: string;
    roleMap: Record<string, string>;
    /** Signature algorithms accepted on ID tokens and bearer JWTs; never 'none' or HMAC. */
    algorithms: string[];
    /** Audience bearer JWTs must carry; the client id when absent. */
    audience: string | null;
    /** Scope values of a bearer JWT -> Rampart token scopes (read, write, admin). */
    scopeMap: Record<string, string>;
    clockToleranceSeconds: number;
  };
}

export const DEFAULTS: Config = {
  dataDir: './rampart-data',
  http: { host: '127.0.0.1', port: 8080, tlsCert: null, tlsKey: null, tls: false },
  dicomweb: { prefix: '/dicom-web', maxBodyBytes: 8 * 1024 ** 3, maxPartsPerRequest: 10_000, maxResults: 5_000 },
  storage: { overwrite: 'reject', maxInstanceBytes: 4 * 1024 ** 3, indexSyncMs: 1000 },
  index: { url: 'sqlite' },
  dimse: {
    enabled: true, aeTitle: 'RAMPART', host: null, port: 11112, tlsPort: 2762, tlsCert: null, tlsKey: null,
    maxAssociations: 64, maxAssociationsPerPeer: 8, maxPduLength: 256 * 1024, artimSeconds: 30, idleSeconds: 300,
    maxPendingOperations: 16, requireIdentity: false, identityRequiresTls: true, maxRetrieveInstances: 100_000,
  },
  audit: {
    failOpen: false, signingKey: null, syncIntervalMs: 50, checkpointEvery: 1000, rotateBytes: 64 * 1024 ** 2,
    syslog: { host: null, port: 6514, ca: null, cert: null, key: null, fingerprint: null, serverName: null },
    alerts: { canaryStudies: null, volumeFloor: 1000, volumeFactor: 10, failures: 10, failureWindowSeconds: 300 },
  },
  render: {
    workers: 0, maxQueue: 64, maxDecodedSamples: 256 * 1024 * 1024, maxRenderedInstances: 50, thumbnailSize: 128,
    maxViewport: 4096, jobTimeoutSeconds: 60,
  },
  access: { mode: 'role', breakGlassMinutes: 60, shareMaxDays: 30, shareDefaultDays: 7, sharePinAttempts: 5, publicUrl: null },
  rateLimit: { queryPerMinute: 600, queryBurst: 120, retrievePerMinute: 3000, retrieveBurst: 600, retrieveBytesPerHour: 200 * 1024 ** 3 },
  auth: {
    sessionIdleSeconds: 15 * 60, sessionAbsoluteSeconds: 12 * 3600,
    lockout: { maxFailures: 10, ipMaxFailures: 100, freeFailures: 3, backoffMaxSeconds: 60, windowSeconds: 900, lockSeconds: 900 },
    totpIssuer: 'Rampart', webauthnRpId: null, webauthnOrigin: null,
  },
  oidc: {
    issuer: null, clientId: null, clientSecretFile: null, redirectUri: null, scopes: ['openid', 'profile', 'email'],
    rolesClaim: 'roles', groupsClaim: 'groups', usernameClaim: 'preferred_username', roleMap: {},
    algorithms: ['RS256', 'PS256', 'ES256'], audience: null,
    scopeMap: { 'rampart.read': 'read', 'rampart.write': 'write', 'rampart.admin': 'admin' }, clockToleranceSeconds: 30,
  },
};

/** 'list': strings (JSON array, or comma-separated in the environment); 'map': string -> string (a JSON object). */
type Kind = 'string' | 'int' | 'int?' | 'bool' | 'string?' | 'ae' | 'list' | 'map' | readonly string[];
const SCHEMA: Record<string, Kind> = {
  dataDir: 'string',
  'http.host': 'string', 'http.port': 'int', 'http.tlsCert': 'string?', 'http.tlsKey': 'string?', 'http.tls': 'bool',
  'dicomweb.prefix': 'string', 'dicomweb.maxBodyBytes': 'int', 'dicomweb.maxPartsPerRequest': 'int', 'dicomweb.maxResults': 'int',
  'storage.overwrite': ['reject', 'keep', 'replace'], 'storage.maxInstanceBytes': 'int', 'storage.indexSyncMs': 'int',
  'index.url': 'string',
  'dimse.enabled': 'bool', 'dimse.aeTitle': 'ae', 'dimse.host': 'string?', 'dimse.port': 'int?', 'dimse.tlsPort': 'int?',
  'dimse.tlsCert': 'string?', 'dimse.tlsKey': 'string?', 'dimse.maxAssociations': 'int', 'dimse.maxAssociationsPerPeer': 'int',
  'dimse.maxPduLength': 'int', 'dimse.artimSeconds': 'int', 'dimse.idleSeconds': 'int', 'dimse.maxPendingOperations': 'int',
  'dimse.requireIdentity': 'bool', 'dimse.identityRequiresTls': 'bool', 'dimse.maxRetrieveInstances': 'int',
  'audit.failOpen': 'bool', 'audit.signingKey': 'string?', 'audit.syncIntervalMs': 'int', 'audit.checkpointEvery': 'int',
  'audit.rotateBytes': 'int', 'audit.syslog.host': 'string?', 'audit.syslog.port': 'int', 'audit.syslog.ca': 'string?',
  'audit.syslog.cert': 'string?', 'audit.syslog.key': 'string?', 'audit.syslog.fingerprint': 'string?', 'audit.syslog.serverName': 'string?',
  'audit.alerts.canaryStudies': 'string?', 'audit.alerts.volumeFloor': 'int', 'audit.alerts.volumeFactor': 'int',
  'audit.alerts.failures': 'int', 'audit.alerts.failureWindowSeconds': 'int',
  'render.workers': 'int', 'render.maxQueue': 'int', 'render.maxDecodedSamples': 'int', 'render.maxRenderedInstances': 'int',
  'render.thumbnailSize': 'int', 'render.maxViewport': 'int', 'render.jobTimeoutSeconds': 'int',
  'access.mode': ['role', 'grants'], 'access.breakGlassMinutes': 'int', 'access.shareMaxDays': 'int', 'access.shareDefaultDays': 'int',
  'access.sharePinAttempts': 'int', 'access.publicUrl': 'string?',
  'rateLimit.queryPerMinute': 'int', 'rateLimit.queryBurst': 'int', 'rateLimit.retrievePerMinute': 'int', 'rateLimit.retrieveBurst': 'int',
  'rateLimit.retrieveBytesPerHour': 'int',
  'auth.sessionIdleSeconds': 'int', 'auth.sessionAbsoluteSeconds': 'int',
  'auth.lockout.maxFailures': 'int', 'auth.lockout.ipMaxFailures': 'int', 'auth.lockout.freeFailures': 'int',
  'auth.lockout.backoffMaxSeconds': 'int', 'auth.lockout.windowSeconds': 'int', 'auth.lockout.lockSeconds': 'int',
  'auth.totpIssuer': 'string', 'auth.webauthnRpId': 'string?', 'auth.webauthnOrigin': 'string?',
  'oidc.issuer': 'string?', 'oidc.clientId': 'string?', 'oidc.clientSecretFile': 'string?', 'oidc.redirectUri': 'string?',
  'oidc.scopes': 'list', 'oidc.rolesClaim': 'string', 'oidc.groupsClaim': 'string', 'oidc.usernameClaim': 'string',
  'oidc.roleMap': 'map', 'oidc.algorithms': 'list', 'oidc.audience': 'string?', 'oidc.scopeMap': 'map',
  'oidc.clockToleranceSeconds': 'int',
};

/** Environment variable for each key: RAMPART_HTTP_PORT for http.port, RAMPART_DATA for dataDir. */
const envName = (key: string): string => (key === 'dataDir' ? 'RAMPART_DATA' : 'RAMPART_' + key.replace(/\./g, '_').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase());

const bad = (msg: string) => new RampartError('bad-request', `configuration: ${msg}`);

function coerce(key: string, kind: Kind, v: unknown, from: string): unknown {
  if (Array.isArray(kind)) {
    if (typeof v !== 'string' || !kind.includes(v)) throw bad(`${key} (from ${from}) must be one of ${kind.join(', ')}`);
    return v;
  }
  switch (kind) {
    case 'string': if (typeof v !== 'string' || v === '') throw bad(`${key} (from ${from}) must be a non-empty string`); return v;
    case 'string?': if (v === null || v === '') return null; if (typeof v !== 'string') throw bad(`${key} (from ${from}) must be a string`); return v;
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === '1') return true;
      if (v === 'false' || v === '0') return false;
      throw bad(`${key} (from ${from}) must be true or false`);
    case 'ae':
      if (typeof v !== 'string' || !/^[\x21-\x5b\x5d-\x7e]([\x20-\x5b\x5d-\x7e]{0,14}[\x21-\x5b\x5d-\x7e])?$/.test(v)) throw bad(`${key} (from ${from}) must be an AE title: 1-16 printable characters, no backslash`);
      return v;
    case 'list': {
      const list = typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter(Boolean) : v;
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && x !== '')) throw bad(`${key} (from ${from}) must be a list of strings`);
      return [...list];
    }
    case 'map': {
      let m = v;
      if (typeof v === 'string') {
        try { m = JSON.parse(v); } catch { throw bad(`${key} (from ${from}) must be a JSON object of strings`); }
      }
      if (!m || typeof m !== 'object' || Array.isArray(m) || !Object.values(m).every((x) => typeof x === 'string')) {
        throw bad(`${key} (from ${from}) must be an object whose values are strings`);
      }
      return Object.assign(Object.create(null) as Record<string, string>, m);
    }
    case 'int?':
      if (v === null || v === '' || v === 'off') return null;
      return coerce(key, 'int', v, from);
    case 'int': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
      if (!Number.isSafeInteger(n) || n < 0) throw bad(`${key} (from ${from}) must be a non-negative integer`);
      return n;
    }
  }
  return v;
}

function setPath(o: Record<string, unknown>, key: string, v: unknown): void {
  const parts = key.split('.');
  let cur = o;
  for (const p of parts.slice(0, -1)) cur = cur[p] as Record<string, unknown>;
  cur[parts[parts.length - 1]!] = v;
}

function flatten(o: unknown, prefix: string, out: Map<string, unknown>): void {
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === 'object' && !Array.isArray(v) && SCHEMA[key] !== 'map') flatten(v, key, out);
      else out.set(key, v);
    }
  }
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Flat keys from the command line, e.g. { 'http.port': '9090' }. */
  overrides?: Record<string, unknown>;
}

export function loadConfig(opts: LoadOptions = {}): Readonly<Config> {
  const cfg = structuredClone(DEFAULTS) as unknown as Record<string, unknown>;
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.RAMPART_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw bad(`cannot read ${file}: ${(e as Error).message}`);
    }
    const flat = new Map<string, unknown>();
    flatten(parsed, '', flat);
    for (const [k, v] of flat) {
      const kind = SCHEMA[k];
      if (!kind) throw bad(`unknown key "${k}" in ${file}`);
      setPath(cfg, k, coerce(k, kind, v, file));
    }
  }
  for (const [k, kind] of Object.entries(SCHEMA)) {
    const v = env[envName(k)];
    if (v !== undefined) setPath(cfg, k, coerce(k, kind, v, envName(k)));
  }
  for (const [k, v] of Object.entries(opts.overrides ?? {})) {
    const kind = SCHEMA[k];
    if (!kind) throw bad(`unknown option ${k}`);
    if (v !== undefined) setPath(cfg, k, coerce(k, kind, v, 'command line'));
  }
  const c = cfg as unknown as Config;
  c.dataDir = resolve(c.dataDir);
  if (!c.dicomweb.prefix.startsWith('/') || c.dicomweb.prefix.endsWith('/')) throw bad('dicomweb.prefix must start with / and not end with /');
  if (c.http.port > 65535) throw bad('http.port must be at most 65535');
  if (c.index.url !== 'sqlite' && !/^postgres(ql)?:\/\//.test(c.index.url)) throw bad('index.url must be "sqlite" or a postgres:// URL');
  if ((c.http.tlsCert === null) !== (c.http.tlsKey === null)) throw bad('http.tlsCert and http.tlsKey go together');
  if ((c.dimse.tlsCert === null) !== (c.dimse.tlsKey === null)) throw bad('dimse.tlsCert and dimse.tlsKey go together');
  for (const k of ['port', 'tlsPort'] as const) if ((c.dimse[k] ?? 0) > 65535) throw bad(`dimse.${k} must be at most 65535`);
  if (c.access.breakGlassMinutes < 1 || c.access.breakGlassMinutes > 24 * 60) throw bad('access.breakGlassMinutes must be between 1 and 1440');
  if (c.access.shareMaxDays < 1 || c.access.shareDefaultDays < 1 || c.access.shareDefaultDays > c.access.shareMaxDays) throw bad('access.shareDefaultDays must be between 1 and access.shareMaxDays');
  if (c.access.sharePinAttempts < 1) throw bad('access.sharePinAttempts must be at least 1');
  if (c.access.publicUrl !== null && !/^https?:\/\/[A-Za-z0-9.\-:[\]]+$/.test(c.access.publicUrl)) throw bad('access.publicUrl must be scheme://host[:port], without a path');
  checkIdentity(c);
  if (c.dimse.maxPduLength < 4096 || c.dimse.maxPduLength > 16 * 1024 * 1024) throw bad('dimse.maxPduLength must be between 4096 and 16 MiB');
  if (c.audit.syncIntervalMs < 1 || c.audit.syncIntervalMs > 10_000) throw bad('audit.syncIntervalMs must be between 1 and 10000');
  if (c.audit.checkpointEvery < 1) throw bad('audit.checkpointEvery must be at least 1');
  if (c.audit.rotateBytes < 64 * 1024) throw bad('audit.rotateBytes must be at least 64 KiB');
  if ((c.audit.syslog.cert === null) !== (c.audit.syslog.key === null)) throw bad('audit.syslog.cert and audit.syslog.key go together');
  if (c.audit.syslog.port < 1 || c.audit.syslog.port > 65535) throw bad('audit.syslog.port must be between 1 and 65535');
  if (c.render.thumbnailSize < 1 || c.render.thumbnailSize > c.render.maxViewport) throw bad('render.thumbnailSize must be between 1 and render.maxViewport');
  if (c.render.jobTimeoutSeconds < 1) throw bad('render.jobTimeoutSeconds must be at least 1');
  if (c.render.maxRenderedInstances < 1) throw bad('render.maxRenderedInstances must be at least 1');
  return deepFreeze(c);
}

const ROLE_NAMES = ['admin', 'radiologist', 'technologist', 'referring', 'auditor', 'external'];
const SCOPE_NAMES = ['read', 'write', 'admin'];

function checkIdentity(c: Config): void {
  if (c.auth.sessionIdleSeconds < 60) throw bad('auth.sessionIdleSeconds must be at least 60');
  if (c.auth.sessionAbsoluteSeconds < c.auth.sessionIdleSeconds) throw bad('auth.sessionAbsoluteSeconds must be at least auth.sessionIdleSeconds');
  const l = c.auth.lockout;
  if (l.maxFailures < 1 || l.ipMaxFailures < 1 || l.lockSeconds < 1 || l.windowSeconds < 1) throw bad('auth.lockout limits must be positive');
  const o = c.oidc;
  for (const [claim, role] of Object.entries(o.roleMap)) if (!ROLE_NAMES.includes(role)) throw bad(`oidc.roleMap["${claim}"] must be one of ${ROLE_NAMES.join(', ')}`);
  for (const [scope, ours] of Object.entries(o.scopeMap)) if (!SCOPE_NAMES.includes(ours)) throw bad(`oidc.scopeMap["${scope}"] must be one of ${SCOPE_NAMES.join(', ')}`);
  const unsafe = o.algorithms.find((a) => !/^(RS|PS|ES)(256|384|512)$|^EdDSA$/.test(a));
  if (unsafe !== undefined) throw bad(`oidc.algorithms: ${unsafe} is not allowed (asymmetric RS*, PS*, ES*, EdDSA only; never none)`);
  if (o.issuer !== null) {
    if (!/^https:\/\//.test(o.issuer) && !/^http:\/\/(127\.|localhost[:/]|\[::1\])/.test(o.issuer)) throw bad('oidc.issuer must be an https:// URL');
    if (o.clientId === null) throw bad('oidc.clientId is required when oidc.issuer is set');
    if (!o.scopes.includes('openid')) throw bad('oidc.scopes must include openid');
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);
