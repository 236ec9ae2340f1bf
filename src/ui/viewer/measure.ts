// Length and angle measurements in image coordinates; lengths in millimetres through
// PixelSpacing (PS3.3 C.7.6.2.1.1: row spacing first, then column spacing).

export interface Point { x: number; y: number }
export type Measurement =
  | { kind: 'length'; a: Point; b: Point }
  | { kind: 'angle'; a: Point; vertex: Point; c: Point };

/** [row spacing, column spacing] in mm, or undefined when the image does not say. */
export type Spacing = [number, number] | undefined;

export function lengthMm(a: Point, b: Point, spacing: Spacing): number | undefined {
  if (!spacing) return undefined;
  const dx = (b.x - a.x) * spacing[1], dy = (b.y - a.y) * spacing[0];
  return Math.hypot(dx, dy);
}

export function angleDegrees(a: Point, v: Point, c: Point, spacing: Spacing): number {
  const sx = spacing?.[1] ?? 1, sy = spacing?.[0] ?? 1;
  const u = { x: (a.x - v.x) * sx, y: (a.y - v.y) * sy }, w = { x: (c.x - v.x) * sx, y: (c.y - v.y) * sy };
  const cos = (u.x * w.x + u.y * w.y) / (Math.hypot(u.x, u.y) * Math.hypot(w.x, w.y) || 1);
  return (Math.acos(Math.max(-1, Math.min(1, cos))) * 180) / Math.PI;
}

export function label(m: Measurement, spacing: Spacing): string {
  if (m.kind === 'length') {
    const mm = lengthMm(m.a, m.b, spacing);
    return mm === undefined ? `${Math.hypot(m.b.x - m.a.x, m.b.y - m.a.y).toFixed(1)} px` : `${mm.toFixed(1)} mm`;
  }
  return `${angleDegrees(m.a, m.vertex, m.c, spacing).toFixed(1)}°`;
}

/** Draws a measurement; `toScreen` maps image coordinates to canvas pixels. */
export function drawMeasurement(ctx: CanvasRenderingContext2D, m: Measurement, spacing: Spacing, toScreen: (p: Point) => Point): void {
  const pts = m.kind === 'length' ? [m.a, m.b] : [m.a, m.vertex, m.c];
  const s = pts.map(toScreen);
  ctx.save();
  ctx.strokeStyle = '#ffd400';
  ctx.fillStyle = '#ffd400';
  ctx.lineWidth = 2;
  ctx.beginPath();
  s.forEach((p, i) => (i ? ctx.lineTo(p.x, p.y) : ctx.moveTo(p.x, p.y)));
  ctx.stroke();
  for (const p of s) { ctx.beginPath(); ctx.arc(p.x, p.y, 3, 0, Math.PI * 2); ctx.fill(); }
  ctx.font = '14px sans-serif';
  const at = s[s.length - 1]!;
  ctx.fillText(label(m, spacing), at.x + 6, at.y - 6);
  ctx.restore();
}
