// The shapes a scan produces: findings, what was seen on each endpoint, and the whole report
// (the JSON form is documented by docs/scan-report.schema.json and docs/scan.md).

export type Severity = 'high' | 'medium' | 'low' | 'info';
export const SEVERITIES: readonly Severity[] = ['high', 'medium', 'low', 'info'];
export const severityRank = (s: Severity): number => 3 - SEVERITIES.indexOf(s);

export interface Finding {
  /** Stable catalogue id (findings.ts), e.g. "dicom-query-open". */
  id: string;
  severity: Severity;
  title: string;
  /** Where: "host:port", a URL, or "config". */
  target: string;
  /** The exchange that shows it, one step a line; never patient data (counts only). */
  evidence: string[];
  /** What to do about it, in plain words. */
  fix: string;
}

export type PortState = 'open' | 'closed' | 'filtered';
export type PortKind = 'dicom' | 'dicom-tls' | 'http' | 'https' | 'tls' | 'unknown';

export interface TlsVersionResult { version: string; result: 'accepted' | 'refused' | 'not-tested'; cipher?: string; detail?: string }

export interface TlsInfo {
  versions: TlsVersionResult[];
  /** The suite chosen when the client offers its defaults. */
  negotiated?: { protocol: string; cipher: string };
  /** Suites outside BCP 195 the server agreed to. */
  weakSuitesAccepted: string[];
  certificate?: {
    subject: string;
    issuer: string;
    validFrom: string;
    validTo: string;
    selfSigned: boolean;
    /** Does it name the host we connected to (null when scanned by address only and it names none). */
    hostnameMatches: boolean | null;
    trusted: boolean;
    fingerprint256: string;
  };
}

export interface DicomInfo {
  /** The called AE title that opened an association, when one did. */
  acceptedCalledAe?: string;
  /** True when a made-up calling AE title was accepted. */
  anyCallingAeAccepted: boolean;
  /** True when a made-up called AE title was accepted too. */
  anyCalledAeAccepted: boolean;
  /** How the first association request was answered, in words. */
  firstAnswer: string;
  acceptedServices: string[];
  identityRequired: boolean | 'unknown';
  implementationClassUid?: string;
  implementationVersionName?: string;
  echoStatus?: number;
  /** Records a universal C-FIND returned, per level (absent when not asked or refused). */
  findCounts?: { patient?: number; study?: number; truncated?: boolean };
  moveToUnknownStatus?: number;
}

export interface HttpInfo {
  url: string;
  status?: number;
  server?: string;
  poweredBy?: string;
  /** QIDO-RS searches that answered without credentials, with the number of studies. */
  openQido: { url: string; status: number; studies: number }[];
  openAdmin: { url: string; product: string; status: number }[];
  defaultCredentials?: { url: string; username: string };
}

export interface Endpoint {
  host: string;
  address: string;
  port: number;
  state: PortState;
  kind?: PortKind;
  dicom?: DicomInfo;
  tls?: TlsInfo;
  http?: HttpInfo;
  /** A probe that could not complete, in words. */
  errors: string[];
}

export interface ScanReport {
  format: 'rampart-scan/1';
  tool: { name: 'rampart'; version: string };
  mode: 'targets' | 'self';
  startedAt: string;
  finishedAt: string;
  /** The targets as named on the command line (or by the configuration for --self). */
  targets: string[];
  endpoints: Endpoint[];
  web: HttpInfo[];
  findings: Finding[];
  summary: Record<Severity, number>;
}
