// The app's entry: who is signed in, the top bar, routing on the address fragment (never sent to
// a server), and idle logoff. Routes: #/ (worklist), #/study/UID, #/viewer/STUDY/SERIES, #/admin/PAGE,
// #/audit, #/account.
import { onSessionLost } from './api.js';
import { accountPage } from './account.js';
import { adminPage } from './admin.js';
import { auditPage } from './audit.js';
import { h, link } from './dom.js';
import { isUid } from './dicom-json.js';
import { startIdleTimer, wipeScreen } from './idle.js';
import { loadMe, logout, type Me } from './session.js';
import { shareButton } from './share.js';
import { startShareMode } from './share-mode.js';
import { signInPage } from './signin.js';
import { studyPage } from './study.js';
import { viewerPage } from './viewer/viewer.js';
import { resetWorklistState, worklistPage } from './worklist.js';

const root = document.getElementById('app')!;
let me: Me | undefined;
let stopIdle: (() => void) | undefined;

function route(): void {
  if (!me) return;
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  let view: HTMLElement;
  const [head, a, b] = parts;
  if (head === 'study' && a && isUid(a)) view = studyPage(a, me.permissions.includes('share') ? () => shareButton(a) : undefined);
  else if (head === 'viewer' && a && b && isUid(a) && isUid(b)) view = viewerPage(a, b);
  else if (head === 'admin' && me.permissions.includes('administer')) view = adminPage(a ?? 'users');
  else if (head === 'audit' && me.permissions.includes('read-audit')) view = auditPage();
  else if (head === 'account') view = accountPage();
  else view = worklistPage();
  root.replaceChildren(topBar(me), view);
  document.title = 'Rampart';
}

function topBar(m: Me): HTMLElement {
  const signOut = h('button', { type: 'button', class: 'signout', text: 'Sign out' });
  signOut.addEventListener('click', () => { void endSession('You have signed out.'); });
  return h('nav', { class: 'topbar', 'aria-label': 'Main' },
    h('span', { class: 'brand', text: 'Rampart' }),
    link('/', 'Worklist'),
    m.permissions.includes('administer') ? link('/admin/users', 'Administration') : null,
    m.permissions.includes('read-audit') ? link('/audit', 'Audit') : null,
    h('span', { class: 'spacer' }),
    h('span', { class: 'who', text: `${m.username} (${m.role})` }),
    link('/account', 'My account'),
    signOut);
}

async function endSession(message: string): Promise<void> {
  stopIdle?.();
  me = undefined;
  wipeScreen(root);
  resetWorklistState();
  history.replaceState(null, '', location.pathname);
  await logout();
  root.replaceChildren(signInPage(() => void start(), message));
}

async function start(): Promise<void> {
  me = await loadMe().catch(() => undefined);
  if (!me) {
    root.replaceChildren(signInPage(() => void start()));
    return;
  }
  stopIdle?.();
  stopIdle = startIdleTimer(me.idleSeconds, () => { void endSession('You were signed out after a period without activity.'); });
  route();
}

const shareView = /^\/s\/([A-Za-z0-9_-]{1,100})\/view$/.exec(location.pathname);
if (shareView) {
  startShareMode(root, shareView[1]!);
} else {
  onSessionLost(() => { if (me) void endSession('Your session has ended. Sign in again.'); });
  window.addEventListener('hashchange', route);
  void start();
}
