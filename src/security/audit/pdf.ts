// A small PDF 1.4 writer for text reports (the accounting of disclosures): Helvetica, A4
// landscape, as many pages as the lines need. Written by hand: the format is simple and a
// dependency for tables of text would be larger than this file.
const W = 842, H = 595, MARGIN = 36, SIZE = 8, LEAD = 10.5;
const PER_PAGE = Math.floor((H - 2 * MARGIN) / LEAD);

/** PDF string literal in WinAnsi (Latin-1); characters outside it become '?'. */
function pdfString(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c === 0x28 || c === 0x29 || c === 0x5c) out += '\\' + ch;
    else if (c < 0x20 || c > 0xff || (c >= 0x7f && c < 0xa0)) out += '?';
    else out += ch;
  }
  return `(${out})`;
}

export function textPdf(title: string, lines: string[]): Buffer {
  const pages: string[][] = [];
  const all = [title, '', ...lines];
  for (let i = 0; i < all.length; i += PER_PAGE) pages.push(all.slice(i, i + PER_PAGE));
  if (pages.length === 0) pages.push([title]);
  // Objects: 1 catalog, 2 pages, 3 font, then per page: page object and content stream.
  const objs: string[] = [];
  const kids = pages.map((_, i) => `${4 + 2 * i} 0 R`).join(' ');
  objs[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objs[2] = `<< /Type /Pages /Kids [${kids}] /Count ${pages.length} >>`;
  objs[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>';
  pages.forEach((ls, i) => {
    const body = ['BT', `/F1 ${SIZE} Tf`, `${LEAD} TL`, `${MARGIN} ${H - MARGIN} Td`,
      ...ls.map((l) => `${pdfString(l.length > 190 ? l.slice(0, 187) + '...' : l)} '`), `0 ${-LEAD} Td`, `(page ${i + 1} of ${pages.length}) '`, 'ET'].join('\n');
    objs[4 + 2 * i] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${W} ${H}] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + 2 * i} 0 R >>`;
    objs[5 + 2 * i] = `<< /Length ${Buffer.byteLength(body, 'latin1')} >>\nstream\n${body}\nendstream`;
  });
  const chunks: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = chunks[0]!.length;
  const offsets: number[] = [];
  for (let n = 1; n < objs.length; n++) {
    offsets[n] = offset;
    const b = Buffer.from(`${n} 0 obj\n${objs[n]}\nendobj\n`, 'latin1');
    chunks.push(b);
    offset += b.length;
  }
  const xref = [`xref\n0 ${objs.length}\n`, '0000000000 65535 f \n', ...offsets.slice(1).map((o) => `${String(o).padStart(10, '0')} 00000 n \n`)].join('');
  chunks.push(Buffer.from(`${xref}trailer\n<< /Size ${objs.length} /Root 1 0 R >>\nstartxref\n${offset}\n%%EOF\n`, 'latin1'));
  return Buffer.concat(chunks);
}
