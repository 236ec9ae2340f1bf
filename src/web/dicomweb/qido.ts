// QIDO-RS (PS3.18 10.6): search for studies, series and instances. Parsing of the query string
// happens here; matching is the QueryService's, shared with C-FIND.
import { badRequest, RampartError } from '../../errors.js';
import { tagForKeyword } from '../../dicom/dictionary.generated.js';
import { tagHex } from '../../dicom/tag.js';
import type { QueryRequest } from '../../services/query.js';
import type { Level } from '../../store/index/index-store.js';
import type { Principal } from '../../security/principal.js';
import { negotiate, parseAccept } from '../media-type.js';
import type { Router } from '../router.js';
import type { DicomWebDeps } from './context.js';

const MAX_PARAMS = 100;

/** "PatientName" or "00100010" -> "00100010"; nested paths ("00400275.00400009") are kept as given. */
export function attributeKey(name: string): string | undefined {
  if (/^[0-9A-Fa-f]{8}$/.test(name)) return name.toUpperCase();
  if (name.includes('.')) {
    const parts = name.split('.').map(attributeKey);
    return parts.every(Boolean) ? parts.join('.') : undefined;
  }
  const t = tagForKeyword(name);
  return t === undefined ? undefined : tagHex(t);
}

export function parseQido(level: Level, query: URLSearchParams, fixed: Record<string, string>): QueryRequest {
  const keys = new Map<string, string>(Object.entries(fixed));
  let includeFields: Set<string> | 'all' = new Set();
  let limit: number | undefined, offset: number | undefined, fuzzy = false;
  let n = 0;
  for (const [name, value] of query) {
    if (++n > MAX_PARAMS) throw badRequest(`more than ${MAX_PARAMS} query parameters`);
    switch (name) {
      case 'includefield':
        for (const f of value.split(',')) {
          if (f === 'all') { includeFields = 'all'; continue; }
          const k = attributeKey(f);
          if (!k) throw badRequest(`includefield: unknown attribute "${f.slice(0, 64)}"`);
          if (includeFields !== 'all') includeFields.add(k);
        }
        break;
      case 'limit': case 'offset': {
        if (!/^\d{1,9}$/.test(value)) throw badRequest(`${name} must be a non-negative integer`);
        if (name === 'limit') limit = Number(value); else offset = Number(value);
        break;
      }
      case 'fuzzymatching':
        if (value !== 'true' && value !== 'false') throw badRequest('fuzzymatching must be true or false');
        fuzzy = value === 'true';
        break;
      default: {
        const k = attributeKey(name);
        if (!k) throw badRequest(`unknown query parameter "${name.slice(0, 64)}"`);
        if (fixed[k] !== undefined) throw badRequest(`${name} is already given in the path`);
        if (keys.has(k)) throw badRequest(`${name} is given twice`);
        keys.set(k, value);
      }
    }
  }
  return { level, keys, includeFields, limit, offset, fuzzyMatching: fuzzy };
}

const JSON_OFFERS = [{ mediaType: 'application/dicom+json' }, { mediaType: 'application/json' }];

export function registerQido(router: Router<Principal>, deps: DicomWebDeps): void {
  const search = (level: Level, fixedOf: (p: Record<string, string>) => Record<string, string>) =>
    async ({ req, res, params, query, principal }: Parameters<Parameters<Router<Principal>['add']>[2]>[0]) => {
      const neg = negotiate(parseAccept(req.headers.accept), JSON_OFFERS);
      if (!neg) throw new RampartError('not-acceptable', 'QIDO-RS answers application/dicom+json only');
      const request = parseQido(level, query, fixedOf(params));
      const result = await deps.query.search(principal, request, deps.baseUrl(req));
      const warnings: string[] = [];
      if (request.fuzzyMatching) warnings.push('299 rampart "The fuzzymatching parameter is not supported. Only literal matching has been performed."');
      for (const k of result.unsupportedKeys) warnings.push(`299 rampart "${k} is not supported for matching and was ignored."`);
      if (result.truncated) warnings.push('299 rampart "There are additional results that can be requested."');
      const body = JSON.stringify(result.rows);
      const headers: Record<string, string | string[]> = { 'content-type': `${neg.mediaType}`, 'content-length': String(Buffer.byteLength(body)) };
      if (warnings.length) headers.warning = warnings;
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    };
  router.add('GET', '/studies', search('STUDY', () => ({})));
  router.add('GET', '/series', search('SERIES', () => ({})));
  router.add('GET', '/instances', search('IMAGE', () => ({})));
  router.add('GET', '/studies/:study/series', search('SERIES', (p) => ({ '0020000D': p.study! })));
  router.add('GET', '/studies/:study/instances', search('IMAGE', (p) => ({ '0020000D': p.study! })));
  router.add('GET', '/studies/:study/series/:series/instances', search('IMAGE', (p) => ({ '0020000D': p.study!, '0020000E': p.series! })));
}
