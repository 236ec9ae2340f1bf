// The diagnostic viewer: one stack on a canvas with window/level (drag and presets), stack
// scroll (wheel, arrow keys), zoom, pan, reset, invert, length and angle tools, cine for
// multi-frame objects, and the patient banner as text.
import { h } from '../dom.js';
import { num, text, T, values } from '../dicom-json.js';
import { patientBanner } from '../banner.js';
import { loadFrame, loadSeries, type Slice } from './frames.js';
import { drawMeasurement, label, type Measurement, type Point, type Spacing } from './measure.js';
import { fullRangeWindow, PRESETS, renderFrame, type Frame, type Window } from './pixels.js';

type Tool = 'wl' | 'pan' | 'zoom' | 'length' | 'angle';
const TOOLS: [Tool, string][] = [['wl', 'Window'], ['pan', 'Pan'], ['zoom', 'Zoom'], ['length', 'Length'], ['angle', 'Angle']];
const CACHE = 64;

export function viewerPage(study: string, series: string): HTMLElement {
  const canvas = h('canvas', { class: 'viewport', tabindex: 0, 'aria-label': 'Image' });
  const status = h('div', { class: 'status', 'aria-live': 'polite' });
  const measurements = h('ol', { class: 'measurements', 'aria-label': 'Measurements' });
  const banner = h('div', { class: 'banner-slot' });
  const toolbar = h('div', { class: 'toolbar', role: 'toolbar' });
  const page = h('main', { class: 'viewer' }, banner, toolbar, h('div', { class: 'stage' }, canvas, status), measurements);

  let slices: Slice[] = [];
  let index = 0;
  let frame: Frame | undefined;
  let win: Window = { center: 40, width: 400 };
  let defaultWin: Window | undefined;
  let invert = false, zoom = 1, pan = { x: 0, y: 0 };
  let tool: Tool = 'wl';
  let pending: Point[] = [];
  let preview: Point | undefined;
  let cine: number | undefined;
  const marks = new Map<number, Measurement[]>();
  const cache = new Map<number, Promise<Frame>>();
  const image = document.createElement('canvas');
  let loadSeq = 0;

  const spacing = (): Spacing => {
    const v = values(slices[index]?.meta, T.PixelSpacing).map(Number);
    return v.length === 2 && v.every((x) => x > 0) ? [v[0]!, v[1]!] : undefined;
  };
  const frameOf = (i: number): Promise<Frame> => {
    let p = cache.get(i);
    if (!p) {
      p = loadFrame(slices[i]!);
      cache.set(i, p);
      p.catch(() => cache.delete(i));
      if (cache.size > CACHE) cache.delete(cache.keys().next().value!);
    }
    return p;
  };

  // Fit the image in the canvas, then zoom and pan.
  const geometry = () => {
    const fw = frame?.columns ?? 1, fh = frame?.rows ?? 1;
    const scale = Math.min(canvas.width / fw, canvas.height / fh) * zoom;
    return { scale, ox: (canvas.width - fw * scale) / 2 + pan.x, oy: (canvas.height - fh * scale) / 2 + pan.y };
  };
  const toScreen = (p: Point): Point => { const g = geometry(); return { x: g.ox + p.x * g.scale, y: g.oy + p.y * g.scale }; };
  const toImage = (e: PointerEvent): Point => {
    const r = canvas.getBoundingClientRect(), g = geometry();
    const cx = (e.clientX - r.left) * (canvas.width / r.width), cy = (e.clientY - r.top) * (canvas.height / r.height);
    return { x: (cx - g.ox) / g.scale, y: (cy - g.oy) / g.scale };
  };

  function paintImage(): void {
    if (!frame) return;
    image.width = frame.columns;
    image.height = frame.rows;
    const ctx = image.getContext('2d')!;
    const data = ctx.createImageData(frame.columns, frame.rows);
    renderFrame(frame, win, invert, data.data);
    ctx.putImageData(data, 0, 0);
    draw();
  }

  function draw(): void {
    const ctx = canvas.getContext('2d')!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!frame) return;
    const g = geometry();
    ctx.imageSmoothingEnabled = g.scale < 1;
    ctx.drawImage(image, g.ox, g.oy, frame.columns * g.scale, frame.rows * g.scale);
    const sp = spacing();
    for (const m of marks.get(index) ?? []) drawMeasurement(ctx, m, sp, toScreen);
    if (pending.length && preview) {
      const pts = [...pending, preview];
      const m: Measurement | undefined = tool === 'length' && pts.length >= 2 ? { kind: 'length', a: pts[0]!, b: pts[1]! }
        : tool === 'angle' && pts.length >= 3 ? { kind: 'angle', a: pts[0]!, vertex: pts[1]!, c: pts[2]! } : undefined;
      if (m) drawMeasurement(ctx, m, sp, toScreen);
      else if (pts.length === 2) drawMeasurement(ctx, { kind: 'length', a: pts[0]!, b: pts[1]! }, undefined, toScreen);
    }
    updateStatus();
  }

  function updateStatus(): void {
    status.textContent = `Image ${index + 1} / ${slices.length}   W ${Math.round(win.width)} L ${Math.round(win.center)}   Zoom ${zoom.toFixed(2)}${invert ? '   Inverted' : ''}`;
    page.dataset.index = String(index);
    page.dataset.window = `${Math.round(win.center)},${Math.round(win.width)}`;
    const sp = spacing();
    measurements.replaceChildren(...(marks.get(index) ?? []).map((m) => h('li', { text: `${m.kind === 'length' ? 'Length' : 'Angle'}: ${label(m, sp)}` })));
  }

  async function show(i: number): Promise<void> {
    if (!slices.length) return;
    index = Math.max(0, Math.min(slices.length - 1, i));
    const seq = ++loadSeq;
    page.dataset.loading = 'true';
    try {
      const f = await frameOf(index);
      if (seq !== loadSeq) return;
      frame = f;
      if (!defaultWin) {
        const c = num(slices[index]!.meta, T.WindowCenter), w = num(slices[index]!.meta, T.WindowWidth);
        defaultWin = c !== undefined && w !== undefined && w > 0 && f.samples === 1 ? { center: c, width: w } : fullRangeWindow(f);
        win = { ...defaultWin };
      }
      paintImage();
      void frameOf(Math.min(slices.length - 1, index + 1)).catch(() => undefined); // read ahead
    } catch (e) {
      if (seq === loadSeq) status.textContent = `This image cannot be shown: ${(e as Error).message}`;
    } finally {
      if (seq === loadSeq) delete page.dataset.loading;
    }
  }

  const setWindow = (w: Window) => { win = { center: w.center, width: Math.max(1, w.width) }; paintImage(); };
  const reset = () => { zoom = 1; pan = { x: 0, y: 0 }; invert = false; if (defaultWin) win = { ...defaultWin }; pending = []; paintImage(); };
  const toggleCine = (btn: HTMLButtonElement) => {
    if (cine !== undefined) { clearInterval(cine); cine = undefined; btn.textContent = 'Play'; return; }
    const ms = Math.max(20, num(slices[index]?.meta, T.FrameTime) ?? 100);
    cine = setInterval(() => { if (!page.isConnected) { clearInterval(cine); cine = undefined; return; } void show((index + 1) % slices.length); }, ms) as unknown as number;
    btn.textContent = 'Stop';
  };

  // Toolbar
  const toolButtons = TOOLS.map(([t, name]) => {
    const b = h('button', { type: 'button', 'aria-pressed': t === tool ? 'true' : 'false', 'data-tool': t, text: name });
    b.addEventListener('click', () => { tool = t; pending = []; for (const x of toolButtons) x.setAttribute('aria-pressed', String(x === b)); canvas.focus(); });
    return b;
  });
  const presetButtons = Object.entries(PRESETS).map(([name, w]) => {
    const b = h('button', { type: 'button', 'data-preset': name, text: name[0]!.toUpperCase() + name.slice(1) });
    b.addEventListener('click', () => setWindow(w));
    return b;
  });
  const invertBtn = h('button', { type: 'button', text: 'Invert' });
  invertBtn.addEventListener('click', () => { invert = !invert; paintImage(); });
  const resetBtn = h('button', { type: 'button', text: 'Reset' });
  resetBtn.addEventListener('click', reset);
  const clearBtn = h('button', { type: 'button', text: 'Clear measurements' });
  clearBtn.addEventListener('click', () => { marks.delete(index); pending = []; draw(); });
  const cineBtn = h('button', { type: 'button', text: 'Play', class: 'cine' });
  cineBtn.addEventListener('click', () => toggleCine(cineBtn));
  toolbar.append(h('span', { class: 'group' }, ...toolButtons), h('span', { class: 'group', 'aria-label': 'Window presets' }, ...presetButtons),
    h('span', { class: 'group' }, invertBtn, resetBtn, clearBtn, cineBtn));

  // Pointer interaction
  let drag: { x: number; y: number } | undefined;
  canvas.addEventListener('pointerdown', (e) => {
    canvas.focus();
    if (tool === 'length' || tool === 'angle') {
      const p = toImage(e);
      pending.push(p);
      const need = tool === 'length' ? 2 : 3;
      if (pending.length >= need) {
        const m: Measurement = tool === 'length' ? { kind: 'length', a: pending[0]!, b: pending[1]! } : { kind: 'angle', a: pending[0]!, vertex: pending[1]!, c: pending[2]! };
        marks.set(index, [...(marks.get(index) ?? []), m]);
        pending = [];
        preview = undefined;
      }
      draw();
      return;
    }
    drag = { x: e.clientX, y: e.clientY };
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (pending.length) { preview = toImage(e); draw(); return; }
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    drag = { x: e.clientX, y: e.clientY };
    if (tool === 'wl') { const k = Math.max(1, win.width / 256); setWindow({ center: win.center + dy * k, width: win.width + dx * k }); }
    else if (tool === 'pan') { pan = { x: pan.x + dx, y: pan.y + dy }; draw(); }
    else if (tool === 'zoom') { zoom = Math.max(0.1, Math.min(20, zoom * Math.exp(-dy / 100))); draw(); }
  });
  const end = (e: PointerEvent) => { drag = undefined; if (canvas.hasPointerCapture(e.pointerId)) canvas.releasePointerCapture(e.pointerId); };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  canvas.addEventListener('wheel', (e) => { e.preventDefault(); void show(index + (e.deltaY > 0 ? 1 : -1)); }, { passive: false });
  // Keys work anywhere on the viewer page except in a text field; the listener leaves with the page.
  const onKey = (e: KeyboardEvent) => {
    if (!page.isConnected) { document.removeEventListener('keydown', onKey); return; }
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.target instanceof HTMLTextAreaElement || e.ctrlKey || e.metaKey || e.altKey) return;
    const keys: Record<string, () => void> = {
      ArrowDown: () => void show(index + 1), ArrowRight: () => void show(index + 1), PageDown: () => void show(index + 10),
      ArrowUp: () => void show(index - 1), ArrowLeft: () => void show(index - 1), PageUp: () => void show(index - 10),
      Home: () => void show(0), End: () => void show(slices.length - 1),
      r: reset, i: () => { invert = !invert; paintImage(); }, Escape: () => { pending = []; draw(); },
      '1': () => setWindow(PRESETS.lung!), '2': () => setWindow(PRESETS.bone!), '3': () => setWindow(PRESETS.brain!), '4': () => setWindow(PRESETS.abdomen!),
    };
    const fn = keys[e.key];
    if (fn) { e.preventDefault(); fn(); }
  };
  document.addEventListener('keydown', onKey);

  // Canvas follows its box.
  const resize = () => {
    const r = canvas.getBoundingClientRect();
    const w = Math.max(64, Math.round(r.width)), hgt = Math.max(64, Math.round(r.height));
    if (canvas.width !== w || canvas.height !== hgt) { canvas.width = w; canvas.height = hgt; draw(); }
  };
  new ResizeObserver(resize).observe(canvas);

  void (async () => {
    try {
      slices = await loadSeries(study, series);
    } catch (e) {
      status.textContent = `The series cannot be loaded: ${(e as Error).message}`;
      return;
    }
    if (!slices.length) { status.textContent = 'This series has no images.'; return; }
    banner.replaceChildren(patientBanner(slices[0]!.meta));
    cineBtn.hidden = slices.length < 2;
    page.dataset.slices = String(slices.length);
    resize();
    await show(0);
    page.dataset.ready = 'true';
  })();
  return page;
}
