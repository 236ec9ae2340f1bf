// The app for a share link's recipient (/s/<token>/view): no account and no worklist, only the
// one shared study and its viewer, read through the link's own DICOMweb root with its cookie.
import { DICOMWEB, getJson, onSessionLost, setDicomWebRoot } from './api.js';
import { h } from './dom.js';
import { isUid, text, T, type JsonDataSet } from './dicom-json.js';
import { startIdleTimer, wipeScreen } from './idle.js';
import { DEFAULT_IDLE_SECONDS } from './session.js';
import { studyPage } from './study.js';
import { viewerPage } from './viewer/viewer.js';

export function startShareMode(root: HTMLElement, token: string): void {
  setDicomWebRoot(`/s/${token}/dicom-web`);
  let study: string | undefined;
  const closed = (message: string) => {
    wipeScreen(root);
    const again = h('a', { text: 'Open the link again' });
    again.href = `/s/${token}`;
    root.replaceChildren(h('main', { class: 'share-closed' }, h('p', { text: message }), again));
  };
  const bar = () => h('nav', { class: 'topbar', 'aria-label': 'Shared study' }, h('span', { class: 'brand', text: 'Rampart' }), h('span', { text: 'Shared study (read only)' }));
  const route = () => {
    if (!study) return;
    const [head, a, b] = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
    // Only the shared study: any other UID in the fragment shows the study page instead.
    const view = head === 'viewer' && a === study && b && isUid(b) ? viewerPage(a, b) : studyPage(study);
    root.replaceChildren(bar(), view);
  };
  onSessionLost(() => closed('This link is no longer open here.'));
  window.addEventListener('hashchange', route);
  startIdleTimer(DEFAULT_IDLE_SECONDS, () => closed('The study was closed after a period without activity.'));
  void (async () => {
    try {
      const [row] = await getJson<JsonDataSet[]>(`${DICOMWEB}/studies`, 'application/dicom+json');
      const uid = row ? text(row, T.StudyInstanceUID) : '';
      if (!isUid(uid)) throw new Error('no study');
      study = uid;
      route();
    } catch {
      closed('This link is not open in this browser, or it is no longer valid.');
    }
  })();
}
