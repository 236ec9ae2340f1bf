// The report for tools: JSON in the shape docs/scan-report.schema.json documents (format
// "rampart-scan/1"), and the exit code a scheduled check acts on.
import { severityRank, type ScanReport, type Severity } from './types.js';

export const REPORT_FORMAT = 'rampart-scan/1';

export function reportJson(r: ScanReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}

/** 0 when no finding is at or above the threshold, 1 otherwise (2, a usage error, is the CLI's). */
export function exitCodeFor(r: ScanReport, failOn: Severity): 0 | 1 {
  return r.findings.some((f) => severityRank(f.severity) >= severityRank(failOn)) ? 1 : 0;
}
