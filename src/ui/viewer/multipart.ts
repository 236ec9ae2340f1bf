// Splitting a multipart/related answer (RFC 2387, as WADO-RS sends frames) into its parts' bytes.

export function boundaryOf(contentType: string): string | undefined {
  const m = /boundary=(?:"([^"]{1,200})"|([^;\s]{1,200}))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  outer: for (let i = hay.indexOf(first, from); i >= 0 && i <= hay.length - needle.length; i = hay.indexOf(first, i + 1)) {
    for (let k = 1; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

export function splitMultipart(body: Uint8Array, boundary: string): { headers: string; body: Uint8Array }[] {
  const enc = new TextEncoder();
  const delim = enc.encode('--' + boundary);
  const crlfDelim = enc.encode('\r\n--' + boundary);
  const out: { headers: string; body: Uint8Array }[] = [];
  let pos = indexOf(body, delim, 0);
  while (pos >= 0) {
    const after = pos + delim.length;
    if (body[after] === 0x2d && body[after + 1] === 0x2d) break; // closing delimiter
    const headerEnd = indexOf(body, enc.encode('\r\n\r\n'), after);
    if (headerEnd < 0) break;
    const next = indexOf(body, crlfDelim, headerEnd + 4);
    if (next < 0) break;
    out.push({ headers: new TextDecoder('latin1').decode(body.subarray(after, headerEnd)), body: body.subarray(headerEnd + 4, next) });
    pos = next + 2;
  }
  return out;
}
