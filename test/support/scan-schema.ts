// Validates scan reports against the documented schema (docs/scan-report.schema.json) with ajv.
import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { REPO } from './build.js';

export function scanReportValidator() {
  const schema = JSON.parse(readFileSync(`${REPO}/docs/scan-report.schema.json`, 'utf8'));
  // Formats (date-time) are checked by the tests themselves; ajv-formats is not needed for that.
  return new Ajv({ strict: true, validateFormats: false, allErrors: true }).compile(schema);
}
