// Summarizes a V8 .cpuprofile (node --cpu-prof): the functions with the most self time, and
// self time per source file / category. Usage: node bench/cpuprof-top.mjs FILE.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const short = (url) => url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^node:/, 'node:');

/** { totalMs, functions: [{name, where, selfMs, pct}], files: [{file, selfMs, pct}] } */
export function summarize(profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const deltas = profile.timeDeltas ?? [];
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0)));
  let total = 0;
  const fn = new Map();
  const file = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const name = cf.functionName || (cf.url ? '(anonymous)' : `(${cf.functionName || 'native'})`);
    const where = cf.url ? `${short(cf.url)}:${cf.lineNumber + 1}` : '';
    const label = cf.url ? name : n.callFrame.functionName || '(program)';
    const key = `${label}\t${where}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const f = cf.url ? short(cf.url).replace(/:\d+$/, '') : `(${label})`;
    file.set(f, (file.get(f) ?? 0) + us);
    total += us;
  }
  const rows = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    totalMs: total / 1000,
    functions: rows(fn).map(([k, us]) => { const [name, where] = k.split('\t'); return { name, where, selfMs: us / 1000, pct: (100 * us) / total }; }),
    files: rows(file).map(([f, us]) => ({ file: f, selfMs: us / 1000, pct: (100 * us) / total })),
  };
}

export function renderSummary(s, title = 'CPU profile') {
  const lines = [`${title}: ${(s.totalMs / 1000).toFixed(2)} s of samples`, '', '| self ms | % | function | where |', '|---:|---:|---|---|'];
  for (const f of s.functions) lines.push(`| ${f.selfMs.toFixed(0)} | ${f.pct.toFixed(1)} | ${f.name} | ${f.where} |`);
  lines.push('', '| self ms | % | file / category |', '|---:|---:|---|');
  for (const f of s.files) lines.push(`| ${f.selfMs.toFixed(0)} | ${f.pct.toFixed(1)} | ${f.file} |`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) { console.error('usage: node bench/cpuprof-top.mjs FILE.cpuprofile [--top N]'); process.exit(2); }
  const top = process.argv[3] === '--top' ? Number(process.argv[4]) : 25;
  console.log(renderSummary(summarize(JSON.parse(readFileSync(file, 'utf8')), top), file));
}
