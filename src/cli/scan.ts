// `rampart scan TARGET... [--web URL...] [--json FILE] [--fail-on high|medium]` and
// `rampart scan --self`: the exposure self-audit. A thin wrapper over src/scan/: flags, the
// progress line, where the report goes and the exit code here; the probing there.
import { writeFile } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { openNode } from '../app.js';
import { badRequest } from '../errors.js';
import { exitCodeFor, reportJson } from '../scan/report-json.js';
import { reportText } from '../scan/report-text.js';
import { runScan, withFindings, SCAN_DEFAULTS, type WebTarget } from '../scan/scan.js';
import { notListening, selfPlan, writeLastSelfScan } from '../scan/self.js';
import { resolveTargets } from '../scan/targets.js';
import type { Severity } from '../scan/types.js';
import { systemPrincipal } from '../security/principal.js';
import { configFrom, parse, type Io } from './common.js';

export const usage = `rampart scan TARGET... [--web URL ...] [--json FILE|-] [--fail-on high|medium|low] [--verbose]
rampart scan --self [--data DIR] [--config FILE] [--json FILE|-] [--fail-on ...]
  TARGET: host, host:port[,port...], [IPv6]:port, 10.0.0.0/28 or 10.0.0.1-20 (ports 104,11112,4242,2762 when none)
  [--called-ae AE ...] [--try-default-credentials] [--authorized-range] [--timeout SECONDS (5)]
  [--rate CONNECTIONS_PER_SECOND (20)] [--concurrency N (4)]
exit: 0 nothing at or above --fail-on (default high), 1 findings at or above it, 2 usage error`;

const OPTIONS = {
  web: { type: 'string', multiple: true }, json: { type: 'string' }, 'fail-on': { type: 'string' }, self: { type: 'boolean', default: false },
  'authorized-range': { type: 'boolean', default: false }, 'try-default-credentials': { type: 'boolean', default: false },
  'called-ae': { type: 'string', multiple: true }, timeout: { type: 'string' }, rate: { type: 'string' }, concurrency: { type: 'string' },
  verbose: { type: 'boolean', short: 'v', default: false },
} as const;

const AE_RE = /^[\x21-\x5b\x5d-\x7e]([\x20-\x5b\x5d-\x7e]{0,14}[\x21-\x5b\x5d-\x7e])?$/;

function intFlag(v: string | undefined, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw badRequest(`${name} is a whole number from ${min} to ${max}`);
  return n;
}

async function webTargets(urls: string[]): Promise<WebTarget[]> {
  const out: WebTarget[] = [];
  for (const s of urls) {
    let url: URL;
    try { url = new URL(s); } catch { throw badRequest(`--web ${s.slice(0, 100)} is not a URL`); }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest(`--web ${s.slice(0, 100)}: only http:// and https:// URLs`);
    if (url.username || url.password) throw badRequest('--web URLs carry no credentials: the scan asks anonymously');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let address = host;
    if (!isIP(host)) {
      try { address = (await lookup(host)).address; } catch { throw badRequest(`cannot resolve "${host}"`); }
    }
    out.push({ url, address });
  }
  return out;
}

export async function scan(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(args, OPTIONS);
  if (v.help) { io.out(usage); return 0; }
  const failOn = (v['fail-on'] ?? 'high') as Severity;
  if (!['high', 'medium', 'low'].includes(failOn)) throw badRequest('--fail-on is high, medium or low');
  const calledAes = v['called-ae'] ?? [];
  const badAe = calledAes.find((a) => !AE_RE.test(a));
  if (badAe !== undefined) throw badRequest('--called-ae must be an AE title: 1-16 printable characters without backslash');
  const common = {
    timeoutMs: intFlag(v.timeout, '--timeout', 1, 120, SCAN_DEFAULTS.timeoutMs / 1000) * 1000,
    rate: intFlag(v.rate, '--rate', 1, 100, SCAN_DEFAULTS.rate),
    concurrency: intFlag(v.concurrency, '--concurrency', 1, 16, SCAN_DEFAULTS.concurrency),
    tryDefaultCredentials: v['try-default-credentials'],
    onProgress: progressLine(io),
  };

  let report;
  if (v.self) {
    if (positionals.length || v.web?.length) throw badRequest('--self takes no targets: it scans the addresses this node is configured to listen on');
    const config = configFrom(v);
    const node = await openNode(config);
    try {
      const plan = selfPlan(config, await node.peers.listPeers());
      // A configured host name is resolved once, like any target's.
      for (const t of [...plan.targets, ...plan.web]) {
        if (isIP(t.address)) continue;
        try { t.address = (await lookup(t.address)).address; } catch { throw badRequest(`cannot resolve the configured host "${t.address}"`); }
      }
      report = await runScan({ ...common, mode: 'self', inputs: plan.inputs, targets: plan.targets, web: plan.web, calledAes: [...plan.calledAes, ...calledAes], extraFindings: plan.findings });
      report = withFindings(report, notListening(report));
      const file = await writeLastSelfScan(config.dataDir, report);
      await node.audit.record({ action: 'scan', outcome: 'success', principal: systemPrincipal(), reason: 'self' });
      if (v.verbose) io.err(`kept for the security page: ${file}`);
    } finally {
      await node.close();
    }
  } else {
    if (positionals.length === 0 && !v.web?.length) throw badRequest(`name at least one target or --web URL, or give --self\n\nusage: ${usage}`);
    const targets = positionals.length ? await resolveTargets(positionals, { authorizedRange: v['authorized-range'] }) : [];
    const web = await webTargets(v.web ?? []);
    report = await runScan({ ...common, mode: 'targets', inputs: [...positionals, ...(v.web ?? [])], targets, web, calledAes });
  }
  common.onProgress.end();

  if (v.json === '-') io.out(reportJson(report).trimEnd());
  else {
    io.out(reportText(report, { verbose: v.verbose }));
    if (v.json) await writeFile(v.json, reportJson(report), { mode: 0o600 });
  }
  return exitCodeFor(report, failOn);
}

/** A progress line that rewrites itself on a terminal, and plain lines otherwise. */
function progressLine(io: Io): ((done: number, total: number, current: string) => void) & { end(): void } {
  let shown = false;
  const f = (done: number, total: number, current: string) => {
    const line = `scan: ${done}/${total} ${done < total ? `probing ${current}` : 'done'}`;
    if (io.isTTY) { process.stderr.write(`\r\x1b[2K${line}`); shown = true; }
    else if (done > 0) io.err(`scan: ${done}/${total} done (${current})`);
  };
  return Object.assign(f, { end: () => { if (shown) process.stderr.write('\r\x1b[2K'); } });
}
