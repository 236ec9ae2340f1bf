// Alerts on unusual access, raised from the trail as entries are written: access to a canary
// study, a principal retrieving or querying far more than its own normal volume, and repeated
// failures from one principal or address. An alert is itself an audit event ('alert'), so it is
// chained, shown by the API and sent to the syslog repository like any other.
import type { AuditEvent, AuditSink } from '../../services/audit-port.js';
import type { ChainEntry } from './chain.js';

export interface AlertOptions {
  canaryStudies: readonly string[];
  /** An hour's volume above max(floor, factor x the principal's usual hourly volume) is unusual. */
  volumeFloor: number;
  volumeFactor: number;
  failures: number;
  failureWindowSeconds: number;
}

const HOUR = 3_600_000;
/** Weight of the newest finished hour in the usual-volume average (about a day's memory). */
const ALPHA = 1 / 24;
const MAX_TRACKED = 10_000;

interface Volume { hour: number; count: number; usual: number | undefined; alerted: boolean }

export class AccessAlerts {
  private readonly canary: Set<string>;
  private readonly volume = new Map<string, Volume>();
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly sink: AuditSink, private readonly o: AlertOptions, private readonly now = () => Date.now()) {
    this.canary = new Set(o.canaryStudies);
  }

  /** Looks at one written entry; raises at most a few alerts. Never throws. */
  observe(entry: ChainEntry): void {
    const e = entry.event;
    if (e.action === 'alert' || e.action === 'audit-read') return;
    for (const a of this.check(e)) void this.sink.record(a).catch(() => undefined);
  }

  check(e: AuditEvent): AuditEvent[] {
    const out: AuditEvent[] = [];
    const who = e.principal;
    const alert = (target: string, detail: string, studies?: string[]): AuditEvent =>
      ({ action: 'alert', outcome: 'success', principal: { kind: who.kind, username: who.username, door: who.door, ip: who.ip }, target, detail, studies });

    const touched = (e.studies ?? []).filter((s) => this.canary.has(s));
    if (touched.length && e.action !== 'store') out.push(alert('canary-access', `${e.action} of a canary study by ${who.username}`, touched));

    if (e.outcome === 'failure') {
      const key = `${who.kind}:${who.username}|${who.ip ?? ''}`;
      const t = this.now();
      const recent = (this.failures.get(key) ?? []).filter((x) => x > t - this.o.failureWindowSeconds * 1000);
      recent.push(t);
      if (recent.length === this.o.failures) out.push(alert('repeated-failures', `${recent.length} failures (${e.action}) within ${this.o.failureWindowSeconds} s`));
      this.bounded(this.failures).set(key, recent);
    }

    const amount = e.outcome !== 'success' ? 0
      : e.action === 'retrieve' || e.action === 'metadata' || e.action === 'export' ? e.instances ?? 0
      : e.action === 'query' ? 1 : 0;
    if (amount > 0) {
      const key = `${who.kind}:${who.username}`;
      const hour = Math.floor(this.now() / HOUR);
      let v = this.volume.get(key);
      if (!v) { v = { hour, count: 0, usual: undefined, alerted: false }; this.bounded(this.volume).set(key, v); }
      if (v.hour !== hour) {
        // Close the finished hour (and count skipped idle hours as zero) into the usual volume.
        for (let h = v.hour; h < hour && h < v.hour + 24 * 7; h++) {
          const c = h === v.hour ? v.count : 0;
          v.usual = v.usual === undefined ? c : v.usual + ALPHA * (c - v.usual);
        }
        v.hour = hour; v.count = 0; v.alerted = false;
      }
      v.count += amount;
      const limit = Math.max(this.o.volumeFloor, this.o.volumeFactor * (v.usual ?? 0));
      if (!v.alerted && v.count > limit) {
        v.alerted = true;
        out.push(alert('unusual-volume', `${v.count} instances/queries this hour, usual ${Math.round(v.usual ?? 0)}, limit ${Math.round(limit)}`));
      }
    }
    return out;
  }

  private bounded<K, V>(m: Map<K, V>): Map<K, V> {
    // Oldest-inserted keys go first: memory stays bounded whatever peers do.
    while (m.size >= MAX_TRACKED) m.delete(m.keys().next().value as K);
    return m;
  }
}
