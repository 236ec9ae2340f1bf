// Normalised forms for case-insensitive matching, computed here (not in SQL) so SQLite and
// PostgreSQL agree on non-ASCII letters (PS3.4 C.2.2.2.1: PN matching is case-insensitive).

export function normalizePN(s: string): string {
  return s.normalize('NFC').toUpperCase();
}
