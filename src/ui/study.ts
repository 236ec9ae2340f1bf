// The study page: the patient banner, the study's details and one card per series with a
// server-rendered thumbnail (rendered here from the first frame when the server has none).
import { DICOMWEB, getJson } from './api.js';
import { patientBanner } from './banner.js';
import { h, link, table } from './dom.js';
import { date, isUid, num, text, T, type JsonDataSet } from './dicom-json.js';
import { loadFrame, loadSeries } from './viewer/frames.js';
import { fullRangeWindow, renderFrame } from './viewer/pixels.js';

export function studyPage(study: string, extra?: (info: JsonDataSet) => Node | undefined): HTMLElement {
  const page = h('main', { class: 'study' }, h('p', { text: 'Loading…' }));
  void (async () => {
    try {
      const [info] = await getJson<JsonDataSet[]>(`${DICOMWEB}/studies?StudyInstanceUID=${study}&includefield=00081030,00100030,00100040,00080090`, 'application/dicom+json');
      if (!info) { page.replaceChildren(h('p', { class: 'error', text: 'This study is not available.' })); return; }
      const series = await getJson<JsonDataSet[]>(`${DICOMWEB}/studies/${study}/series?includefield=0008103E`, 'application/dicom+json');
      series.sort((a, b) => (num(a, T.SeriesNumber) ?? 0) - (num(b, T.SeriesNumber) ?? 0));
      const details = table(['Accession', 'Study date', 'Referring physician', 'Modalities', 'Series', 'Images'], [[
        text(info, T.AccessionNumber), date(text(info, T.StudyDate)), text(info, T.ReferringPhysicianName),
        text(info, T.ModalitiesInStudy), text(info, T.NumberOfStudyRelatedSeries), text(info, T.NumberOfStudyRelatedInstances),
      ]]);
      details.classList.add('study-details');
      page.replaceChildren(patientBanner(info), details, extra?.(info) ?? '', h('ul', { class: 'series-list' }, ...series.map((s) => seriesCard(study, s))));
    } catch (e) {
      page.replaceChildren(h('p', { class: 'error', role: 'alert', text: `The study cannot be shown: ${(e as Error).message}` }));
    }
  })();
  return page;
}

function seriesCard(study: string, s: JsonDataSet): HTMLElement {
  const uid = text(s, T.SeriesInstanceUID);
  const caption = h('span', { class: 'caption' },
    h('span', { class: 'modality', text: text(s, T.Modality) }), ' ',
    h('span', { class: 'number', text: `#${text(s, T.SeriesNumber)}` }), ' ',
    h('span', { class: 'description', text: text(s, T.SeriesDescription) }), ' ',
    h('span', { class: 'count', text: `${text(s, T.NumberOfSeriesRelatedInstances)} images` }));
  if (!isUid(uid)) return h('li', { class: 'series' }, caption);
  const thumb = h('img', { class: 'thumbnail', alt: 'Series thumbnail', width: 128, height: 128 });
  thumb.addEventListener('error', () => { void clientThumbnail(study, uid).then((c) => thumb.replaceWith(c)).catch(() => thumb.replaceWith(h('span', { class: 'thumbnail none', text: 'no preview' }))); }, { once: true });
  thumb.src = `${DICOMWEB}/studies/${study}/series/${uid}/thumbnail?viewport=128,128`;
  return h('li', { class: 'series' }, link(`/viewer/${study}/${uid}`, thumb, caption));
}

/** The first image of the series drawn at thumbnail size, for servers without /thumbnail. */
async function clientThumbnail(study: string, series: string): Promise<HTMLCanvasElement> {
  const slices = await loadSeries(study, series);
  const slice = slices[Math.floor(slices.length / 2)];
  if (!slice) throw new Error('empty series');
  const f = await loadFrame(slice);
  const full = document.createElement('canvas');
  full.width = f.columns; full.height = f.rows;
  const ctx = full.getContext('2d')!;
  const img = ctx.createImageData(f.columns, f.rows);
  const c = num(slice.meta, T.WindowCenter), w = num(slice.meta, T.WindowWidth);
  renderFrame(f, c !== undefined && w ? { center: c, width: w } : fullRangeWindow(f), false, img.data);
  ctx.putImageData(img, 0, 0);
  const out = h('canvas', { class: 'thumbnail', width: 128, height: 128, 'aria-label': 'Series thumbnail' });
  const scale = Math.min(128 / f.columns, 128 / f.rows);
  out.getContext('2d')!.drawImage(full, (128 - f.columns * scale) / 2, (128 - f.rows * scale) / 2, f.columns * scale, f.rows * scale);
  return out;
}
