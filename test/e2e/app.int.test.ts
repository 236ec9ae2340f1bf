// The web app in a real browser (Debian's headless Chromium): signing in, the worklist, a study,
// the viewer on a CT stack, the admin pages, and an XSS corpus in DICOM strings shown as text.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, injectionState, watchForInjection } from '../support/browser.js';
import { writeLastSelfScan } from '../../src/scan/self.js';
import { createUser } from '../../src/security/authenticate.js';
import { base32Decode, totp } from '../../src/security/totp.js';
import { buildOnce } from '../support/build.js';
import { startTestNode, type TestNode } from '../support/node.js';
import { decodePng, differingFraction, greyStats, type Rgba } from '../support/png.js';
import { PYDICOM_FILES, seed, XSS, type Seeded } from './seed.js';

let t: TestNode;
let data: Seeded;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const shots = join(process.env.RAMPART_SCREENSHOTS ?? '/tmp/rampart-e2e-screenshots');

async function shot(name: string, selector = 'canvas.viewport'): Promise<Rgba> {
  const png = await page.locator(selector).first().screenshot();
  await writeFile(join(shots, `${name}.png`), png);
  return decodePng(png);
}

async function openViewer(study: string, series: string): Promise<void> {
  await page.goto(`${t.url}/app/#/viewer/${study}/${series}`);
  await page.waitForSelector('main.viewer[data-ready="true"]:not([data-loading])');
}

beforeAll(async () => {
  await buildOnce();
  await mkdir(shots, { recursive: true });
  t = await startTestNode();
  data = await seed(t.node);
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  await watchForInjection(context);
  page = await context.newPage();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('serving the app', () => {
  it('serves the app without credentials, under a strict Content-Security-Policy and the usual security headers', async () => {
    const res = await fetch(`${t.url}/app/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('permissions-policy')).toContain('camera=()');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect((await fetch(`${t.url}/`)).status).toBe(401); // only /app/ is open; the root stays closed like every other path
  });

  it('answers no data without credentials: the worklist API and admin API need them', async () => {
    expect((await fetch(`${t.url}/api/worklist`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
    expect((await fetch(`${t.url}/api/admin/users`)).status).toBe(401);
    expect((await fetch(`${t.url}/app/../index.sqlite`)).status).not.toBe(200);
  });
});

describe('signing in', () => {
  it('shows the sign-in page first, refuses a wrong password, then opens the worklist with a session cookie', async () => {
    await page.goto(`${t.url}/app/`);
    await page.waitForSelector('form.signin');
    expect(await page.locator('a.sso').isHidden()).toBe(true); // no single sign-on configured on this node
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('form.signin .error:text("not right")');
    await page.getByLabel('Password').fill(t.adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('table.studies');
    expect(await page.locator('.topbar .who').textContent()).toBe('admin (admin)');
    const cookie = (await context.cookies()).find((c) => c.httpOnly);
    expect(cookie?.sameSite).toBe('Strict');
  });

  it('refuses a change through the API with the session cookie but without the CSRF header', async () => {
    const status = await page.evaluate(async () => (await fetch('/api/admin/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'mallory', role: 'admin' }) })).status);
    expect(status).toBe(403);
    expect(await t.node.index.getUserByName('mallory')).toBeUndefined();
  });
});

describe('the worklist', () => {
  it('lists studies newest first, pages through them, and searches by patient name without putting it in the URL', async () => {
    await page.goto(`${t.url}/app/`);
    await page.waitForSelector('table.studies tbody tr');
    expect(await page.locator('table.studies tbody tr').count()).toBe(25);
    const firstDates = await page.locator('table.studies tbody tr td:nth-child(4)').allTextContents();
    expect([...firstDates].sort().reverse()).toEqual(firstDates);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.waitForSelector('.pager .range:text("26–")');
    await page.getByLabel('Patient name').fill('stack');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('table.studies tbody tr').length === 1);
    expect(await page.locator('table.studies tbody tr td').first().textContent()).toBe('STACK, CT');
    expect(page.url()).not.toMatch(/stack/i);
    await page.getByLabel('Patient name').fill('');
  });

  it('filters by patient ID, accession, modality and date range, and sorts by a column either way', async () => {
    const rows = () => page.locator('table.studies tbody tr td:nth-child(2)').allTextContents();
    await page.getByLabel('Patient ID').fill('MF-1');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('table.studies tbody tr').length === 1);
    expect(await rows()).toEqual(['MF-1']);
    await page.getByLabel('Patient ID').fill('');
    await page.getByLabel('Modality').selectOption('XA');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelector('table.studies tbody tr td:nth-child(2)')?.textContent === 'MF-1');
    await page.getByLabel('Modality').selectOption('');
    await page.getByLabel('From').fill('2023-03-01');
    await page.getByLabel('To').fill('2023-03-31');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('table.studies tbody tr').length === 3);
    expect((await page.locator('table.studies tbody tr td:nth-child(4)').allTextContents()).every((d) => d === '2023-03-15')).toBe(true);
    await page.getByLabel('From').fill('');
    await page.getByLabel('To').fill('');
    await page.getByLabel('Accession').fill('ACC-STACK');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('table.studies tbody tr').length === 1);
    await page.getByLabel('Accession').fill('');
    await page.getByLabel('Patient name').fill('FILLER');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForSelector('table.studies tbody tr');
    await page.getByRole('button', { name: /^Patient name/ }).click();
    await page.waitForFunction(() => document.querySelector('th[aria-sort="ascending"]') !== null);
    const asc = await page.locator('table.studies tbody tr td:first-child').allTextContents();
    expect(asc[0]).toBe('FILLER, P00');
    expect([...asc].sort()).toEqual(asc);
    await page.getByRole('button', { name: /^Patient name/ }).click();
    await page.waitForFunction(() => document.querySelector('th[aria-sort="descending"]') !== null);
    expect((await page.locator('table.studies tbody tr td:first-child').allTextContents())[0]).toBe('FILLER, P29');
    await page.getByLabel('Patient name').fill('');
  });
});

describe('a stored XSS corpus in DICOM strings', () => {
  it('is shown as literal text in the worklist, on the study page and in the viewer banner, and never runs', async () => {
    await page.goto(`${t.url}/app/`);
    await page.getByLabel('Accession').fill(XSS.accession);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('table.studies tbody tr').length === 1);
    const cells = await page.locator('table.studies tbody tr td').allTextContents();
    expect(cells).toContain(XSS.id);
    expect(cells).toContain(XSS.description);
    expect(cells).toContain(XSS.accession);
    expect(cells[0]).toBe('<script>window.__xss++</script>, <b>bold</b>');
    expect(await page.locator('table.studies img, table.studies svg, table.studies script, table.studies b').count()).toBe(0);
    await page.locator('table.studies tbody tr td a').first().click();
    await page.waitForSelector('.patient-banner');
    await page.waitForSelector('.series-list .description');
    expect(await page.locator('.series-list .description').textContent()).toBe(XSS.series);
    expect(await page.locator('.study-details td').allTextContents()).toContain("'><body onload>, <u>x</u>");
    expect(await page.locator('main u, main b').count()).toBe(0);
    expect(await page.locator('.patient-banner .id .value').textContent()).toBe(XSS.id);
    expect(await page.locator('main iframe, main svg, main script').count()).toBe(0);
    await page.locator('.series-list a').first().click();
    await page.waitForSelector('main.viewer[data-ready="true"]');
    expect(await page.locator('.patient-banner .description .value').textContent()).toBe(XSS.description);
    await page.waitForTimeout(100); // an injected onerror would fire on the next tasks
    const state = await injectionState(page);
    expect(state.xss).toBeUndefined();
    expect(state.csp).toEqual([]);
  });
});

describe('the study page', () => {
  it('shows the banner, the study details and a series card whose thumbnail has image pixels', async () => {
    await page.goto(`${t.url}/app/#/study/${data.ctStudy}`);
    await page.waitForSelector('.series-list .thumbnail');
    await page.waitForFunction(() => { const th = document.querySelector('.series-list .thumbnail'); return th instanceof HTMLCanvasElement || (th instanceof HTMLImageElement && th.complete && th.naturalWidth > 0); });
    expect(await page.locator('.patient-banner .name .value').textContent()).toBe('STACK, CT');
    expect(await page.locator('.patient-banner .birth .value').textContent()).toBe('1960-02-14');
    expect(await page.locator('.series-list .description').textContent()).toBe('Axial 2mm');
    expect(await page.locator('.series-list .count').textContent()).toBe(`${data.ctSlices} images`);
    const thumb = await shot('study-thumbnail', '.series-list .thumbnail');
    expect(greyStats(thumb).variance).toBeGreaterThan(100);
  });
});

describe('the viewer on a CT stack', () => {
  it('draws the image with real pixel content and the patient banner', async () => {
    await openViewer(data.ctStudy, data.ctSeries);
    expect(await page.locator('.patient-banner .name .value').textContent()).toBe('STACK, CT');
    expect(await page.locator('.patient-banner .sex .value').textContent()).toBe('F');
    const img = await shot('viewer-ct-first');
    const s = greyStats(img);
    expect(s.variance).toBeGreaterThan(200);
    expect(s.levels).toBeGreaterThan(3);
    expect(await page.locator('.status').textContent()).toContain(`Image 1 / ${data.ctSlices}`);
  });

  it('changes the pixels with a window preset and with a window/level drag', async () => {
    const before = await shot('viewer-ct-default-window');
    await page.getByRole('button', { name: 'Lung' }).click();
    expect(await page.locator('main.viewer').getAttribute('data-window')).toBe('-600,1500');
    const lung = await shot('viewer-ct-lung');
    expect(differingFraction(before, lung)).toBeGreaterThan(0.05);
    await page.getByRole('button', { name: 'Brain' }).click();
    expect(await page.locator('main.viewer').getAttribute('data-window')).toBe('40,80');
    const box = (await page.locator('canvas.viewport').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2 + 40, { steps: 4 });
    await page.mouse.up();
    expect(await page.locator('main.viewer').getAttribute('data-window')).not.toBe('40,80');
    const dragged = await shot('viewer-ct-dragged');
    expect(differingFraction(lung, dragged)).toBeGreaterThan(0.05);
    await page.getByRole('button', { name: 'Reset' }).click();
    expect(await page.locator('main.viewer').getAttribute('data-window')).toBe('40,400');
  });

  it('scrolls through the stack with the wheel and the arrow keys, showing another image', async () => {
    const first = await shot('viewer-ct-slice1');
    const box = (await page.locator('canvas.viewport').boundingBox())!;
    await page.mouse.move(box.x + 10, box.y + 10);
    await page.mouse.wheel(0, 100);
    await page.waitForSelector('main.viewer[data-index="1"]:not([data-loading])');
    await page.keyboard.press('ArrowDown');
    await page.waitForSelector('main.viewer[data-index="2"]:not([data-loading])');
    const third = await shot('viewer-ct-slice3');
    expect(differingFraction(first, third)).toBeGreaterThan(0.01);
    expect(await page.locator('.status').textContent()).toContain(`Image 3 / ${data.ctSlices}`);
    await page.keyboard.press('Home');
    await page.waitForSelector('main.viewer[data-index="0"]:not([data-loading])');
  });

  it('measures a length in millimetres from PixelSpacing, and an angle', async () => {
    await page.getByRole('button', { name: 'Length' }).click();
    const box = (await page.locator('canvas.viewport').boundingBox())!;
    const size = await page.locator('canvas.viewport').evaluate((c: HTMLCanvasElement) => ({ w: c.width, h: c.height }));
    const scale = Math.min(size.w / 64, size.h / 64) * (size.w / box.width);
    const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
    await page.mouse.click(cx - 100, cy);
    await page.mouse.click(cx + 100, cy);
    const text = await page.locator('.measurements li').first().textContent();
    expect(text).toMatch(/^Length: \d+\.\d mm$/);
    const mm = Number(/([\d.]+) mm/.exec(text!)![1]);
    expect(mm).toBeCloseTo((200 / scale) * 0.5, 0); // 200 screen px over `scale` px per image px, 0.5 mm each
    const measured = await shot('viewer-ct-length');
    expect(greyStats(measured).variance).toBeGreaterThan(200);
    await page.getByRole('button', { name: 'Angle' }).click();
    await page.mouse.click(cx + 100, cy);
    await page.mouse.click(cx, cy);
    await page.mouse.click(cx, cy - 100);
    expect(await page.locator('.measurements li').nth(1).textContent()).toBe('Angle: 90.0°');
  });

  it('zooms, pans and inverts, and reset brings the first view back', async () => {
    await page.getByRole('button', { name: 'Clear measurements' }).click();
    const base = await shot('viewer-ct-base');
    await page.getByRole('button', { name: 'Invert' }).click();
    const inverted = await shot('viewer-ct-inverted');
    expect(differingFraction(base, inverted)).toBeGreaterThan(0.3);
    await page.getByRole('button', { name: 'Zoom' }).click();
    const box = (await page.locator('canvas.viewport').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2 - 80, { steps: 4 });
    await page.mouse.up();
    expect(await page.locator('.status').textContent()).not.toContain('Zoom 1.00');
    await page.getByRole('button', { name: 'Pan' }).click();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2, { steps: 3 });
    await page.mouse.up();
    await page.getByRole('button', { name: 'Reset' }).click();
    expect(differingFraction(base, await shot('viewer-ct-reset'))).toBe(0);
  });
});

describe('the viewer on other objects', () => {
  it('plays a multi-frame object as a cine loop', async () => {
    await openViewer(data.mfStudy, data.mfSeries);
    expect(await page.locator('main.viewer').getAttribute('data-slices')).toBe('6');
    const first = await shot('viewer-mf-frame1');
    expect(greyStats(first).variance).toBeGreaterThan(100);
    await page.getByRole('button', { name: 'Play' }).click();
    await page.waitForFunction(() => Number(document.querySelector('main.viewer')?.getAttribute('data-index')) >= 2);
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.waitForSelector('main.viewer:not([data-loading])');
    const at = Number(await page.locator('main.viewer').getAttribute('data-index'));
    // The loop may have come round to the first frame again; any other frame looks different.
    expect(differingFraction(first, await shot('viewer-mf-later')) > 0.05).toBe(at !== 0);
    await page.waitForTimeout(200);
    expect(Number(await page.locator('main.viewer').getAttribute('data-index'))).toBe(at); // stopped
  });

  for (const file of PYDICOM_FILES) {
    it(`shows ${file} from pydicom with image pixels`, async () => {
      const p = data.pydicom[file]!;
      await openViewer(p.study, p.series);
      const img = await shot(`viewer-${file.replace('.dcm', '')}`);
      expect(greyStats(img).variance).toBeGreaterThan(100);
      expect(await page.locator('.status').textContent()).toMatch(/^Image 1 \//);
    });
  }
});

describe('the administration pages', () => {
  it('lists users and adds one, showing the initial password once', async () => {
    await page.goto(`${t.url}/app/#/admin/users`);
    await page.waitForSelector('.admin-body table');
    expect(await page.locator('.admin-body table tbody td:first-child').allTextContents()).toContain('admin');
    await page.getByLabel('User name').fill('dr.house');
    await page.getByLabel('Role').selectOption('radiologist');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.waitForSelector('.secret code');
    expect((await page.locator('.secret code').textContent())!.length).toBeGreaterThanOrEqual(12);
    expect(await page.locator('.admin-body table tbody td:first-child').allTextContents()).toContain('dr.house');
    expect((await t.node.index.getUserByName('dr.house'))?.role).toBe('radiologist');
  });

  it('adds a plain-DICOM peer, which the security status page then reports', async () => {
    await page.goto(`${t.url}/app/#/admin/peers`);
    await page.waitForSelector('form[aria-label="Add a DICOM peer"]');
    await page.getByLabel('AE title').fill('CT_SCANNER');
    await page.getByLabel('Host').fill('10.0.0.5');
    await page.getByLabel('Port').fill('104');
    await page.getByLabel('Require DICOM TLS').uncheck();
    await page.getByRole('button', { name: 'Add peer' }).click();
    await page.waitForSelector('.admin-body td:text("CT_SCANNER")');
    expect(await page.locator('.admin-body .warn').first().textContent()).toBe('plain DICOM (unencrypted)');
    await page.goto(`${t.url}/app/#/admin/security`);
    await page.waitForSelector('.findings');
    expect(await page.locator('.admin-body').textContent()).toContain('CT_SCANNER');
    expect(await page.locator('.findings').textContent()).toContain('1 DICOM peer(s) may connect without TLS.');
  });

  it('shows the last exposure self-scan on the security status page, or how to run one', async () => {
    await page.goto(`${t.url}/app/#/admin/security`);
    await page.waitForSelector('.findings');
    await page.waitForSelector('.admin-body .hint:text-matches("rampart scan --self")');
    // What `rampart scan --self` leaves in DATA/scan (the scan itself is tested in src/scan).
    const now = new Date().toISOString();
    await writeLastSelfScan(t.dataDir, {
      format: 'rampart-scan/1', tool: { name: 'rampart', version: '0.1.0' }, mode: 'self', startedAt: now, finishedAt: now,
      targets: ['127.0.0.1:11112'], endpoints: [], web: [], summary: { high: 0, medium: 1, low: 1, info: 0 },
      findings: [
        { id: 'dicom-plain', severity: 'low', title: 'Plain DICOM (no TLS) on loopback', target: '127.0.0.1:11112', evidence: [], fix: 'Use the DICOM TLS port.' },
        { id: 'tls-old-version', severity: 'medium', title: 'TLS 1.0 accepted', target: '127.0.0.1:2762', evidence: [], fix: 'Accept TLS 1.2 and later only.' },
      ],
    });
    await page.reload();
    await page.waitForSelector('.self-scan table');
    const text = (await page.locator('.self-scan').textContent())!;
    expect(text).toContain('1 high or medium finding(s)');
    expect(text.indexOf('TLS 1.0 accepted')).toBeLessThan(text.indexOf('Plain DICOM (no TLS) on loopback')); // worst first
  });

  it('answers who saw a patient, what a user accessed and who accessed a study, and lists alerts', async () => {
    await page.goto(`${t.url}/app/#/audit`);
    await page.waitForSelector('form[aria-label="Patient ID"]', { timeout: 5000 });
    await page.locator('form[aria-label="Patient ID"] input[name="patient"]').fill('CT-STACK');
    await page.locator('form[aria-label="Patient ID"] button').click();
    await page.waitForSelector('.audit-patient table tbody tr', { timeout: 5000 }).catch(async (e) => { throw new Error(`patient table: ${await page.locator('main.audit').textContent()} ${e}`); });
    const rows = (await page.locator('.audit-patient table').textContent())!;
    expect(rows).toContain('admin (user)'); // this session viewed the CT stack earlier
    expect(rows).toContain(data.ctStudy);
    expect(page.url()).not.toContain('CT-STACK'); // the patient ID stays out of the address bar
    await page.locator('form[aria-label="Study Instance UID"] input[name="study"]').fill(data.ctStudy);
    await page.locator('form[aria-label="Study Instance UID"] button').click();
    await page.waitForSelector('.audit-study table tbody tr', { timeout: 5000 });
    await page.locator('form[aria-label="User name"] input[name="user"]').fill('admin');
    await page.locator('form[aria-label="User name"] button').click();
    await page.waitForSelector('.audit-user table tbody tr', { timeout: 5000 });
    await page.waitForSelector('.audit-alerts', { timeout: 5000 });
    expect(await page.locator('.audit-patient button:text("Download CSV")').count()).toBe(1);
  });

  it('shows the settings with their security meaning, without secrets', async () => {
    await page.goto(`${t.url}/app/#/admin/settings`);
    await page.waitForSelector('.admin-body table');
    const text = (await page.locator('.admin-body table').textContent())!;
    expect(text).toContain('dimse.identityRequiresTls');
    expect(text).toContain('refused over plain DICOM');
  });

  it('lists API tokens and revokes one', async () => {
    await t.token(['read']);
    await page.goto(`${t.url}/app/#/admin/tokens`);
    await page.waitForSelector('.admin-body table tbody tr');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Revoke' }).first().click();
    await page.waitForSelector('.admin-body td:text-matches("^revoked")');
    expect((await t.node.index.listTokens()).some((x) => x.revokedAt !== null)).toBe(true);
  });
});

describe('sharing a study', () => {
  let link = '';

  it('grants the study to a user from the share dialog', async () => {
    await page.goto(`${t.url}/app/#/study/${data.ctStudy}`);
    await page.getByRole('button', { name: 'Share…' }).click();
    await page.waitForSelector('dialog.share-dialog[open]');
    await page.getByLabel('Name').fill('dr.house');
    await page.getByRole('button', { name: 'Grant', exact: true }).click();
    await page.waitForSelector('form[aria-label="Grant access"] .result:text("Granted")');
    const user = await t.node.index.getUserByName('dr.house');
    expect((await t.node.accessStore.listGrants()).some((g) => g.subject === user!.id || g.subject === 'dr.house')).toBe(true);
  });

  it('creates a single-use link with a PIN, shown once, and lists it', async () => {
    await page.getByLabel('Single use').check();
    await page.getByLabel('PIN (optional)').fill('4711');
    await page.getByRole('button', { name: 'Create link' }).click();
    await page.waitForSelector('input.share-url');
    link = await page.locator('input.share-url').inputValue();
    expect(link).toMatch(new RegExp(`^${t.url}/s/[A-Za-z0-9_-]+$`));
    await page.waitForSelector('.share-list td:text("active")');
    expect(await page.locator('.share-list tbody tr').count()).toBe(1);
    expect(await page.locator('.share-list').textContent()).toContain('single use, PIN, view only');
  });

  it('opens the link in a fresh browser context with its PIN, showing only that study, in the viewer', async () => {
    const fresh = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    await watchForInjection(fresh);
    const p = await fresh.newPage();
    await p.goto(link);
    await p.getByLabel('PIN').fill('4711');
    await p.getByRole('button', { name: 'Open the study' }).click();
    await p.getByRole('link', { name: 'Open the images in the viewer' }).click();
    await p.waitForSelector('.series-list a');
    expect(await p.locator('.patient-banner .name .value').textContent()).toBe('STACK, CT');
    expect(await p.locator('.topbar').textContent()).toContain('Shared study');
    expect(await p.locator('text=Worklist').count()).toBe(0);
    await p.locator('.series-list a').first().click();
    await p.waitForSelector('main.viewer[data-ready="true"]:not([data-loading])');
    const png = await p.locator('canvas.viewport').screenshot();
    await writeFile(join(shots, 'share-viewer.png'), png);
    expect(greyStats(decodePng(png)).variance).toBeGreaterThan(200);
    // Another study through the same link answers like a missing one.
    const other = await p.evaluate(async (uid) => (await fetch(`${location.pathname.replace(/\/view$/, '')}/dicom-web/studies/${uid}/metadata`)).status, data.mfStudy);
    expect(other).toBe(404);
    // The archive's own API stays closed to the link.
    expect(await p.evaluate(async () => (await fetch('/api/worklist', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status)).toBe(401);
    expect((await injectionState(p)).csp).toEqual([]);
    await fresh.close();
  });

  it('revokes the link from the dialog, after which the link is refused', async () => {
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.waitForSelector('.share-list td:text("revoked")');
    const fresh = await browser.newContext();
    const p = await fresh.newPage();
    const res = await p.goto(link);
    expect(res?.status()).toBe(410);
    expect(await p.locator('body').textContent()).toContain('withdrawn');
    await fresh.close();
  });
});

describe('a second factor', () => {
  it('is set up on the account page, then asked for at sign-in, as a TOTP code or a recovery code', async () => {
    const { password } = await createUser(t.node.index, 'tess', 'radiologist');
    const fresh = await browser.newContext();
    await watchForInjection(fresh);
    const p = await fresh.newPage();
    const signIn = async () => {
      await p.waitForSelector('form.signin');
      await p.getByLabel('User name').fill('tess');
      await p.getByLabel('Password').fill(password);
      await p.getByRole('button', { name: 'Sign in' }).click();
    };
    await p.goto(`${t.url}/app/`);
    await signIn();
    await p.waitForSelector('table.studies');
    await p.getByRole('link', { name: 'My account' }).click();
    await p.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const secret = (await p.locator('.totp-secret').textContent())!;
    expect(await p.locator('img.qr').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    const key = base32Decode(secret);
    await p.getByLabel('Code from the app').fill(totp(key, new Date(Date.now() - 30_000)));
    await p.getByRole('button', { name: 'Confirm' }).click();
    await p.waitForSelector('.recovery-codes li');
    const recovery = (await p.locator('.recovery-codes li').allTextContents())[0]!;
    expect(await p.locator('.sessions button:text("This one")').count()).toBe(1);

    await p.getByRole('button', { name: 'Sign out' }).click();
    await signIn();
    await p.waitForSelector('form[aria-label="Second factor"]');
    await p.getByLabel('Code from your authenticator app').fill('000000' === totp(key, new Date()) ? '111111' : '000000');
    await p.getByRole('button', { name: 'Continue' }).click();
    await p.waitForSelector('form[aria-label="Second factor"] .error:text("not right")');
    await p.getByLabel('Code from your authenticator app').fill(totp(key, new Date()));
    await p.getByRole('button', { name: 'Continue' }).click();
    await p.waitForSelector('table.studies');
    expect(await p.locator('.topbar .who').textContent()).toBe('tess (radiologist)');
    expect(await p.locator('text=Administration').count()).toBe(0);

    await p.getByRole('button', { name: 'Sign out' }).click();
    await signIn();
    await p.waitForSelector('form[aria-label="Second factor"]');
    await p.getByLabel('This is a recovery code').check();
    await p.getByLabel('Code from your authenticator app').fill(recovery);
    await p.getByRole('button', { name: 'Continue' }).click();
    await p.waitForSelector('table.studies');
    expect((await injectionState(p)).csp).toEqual([]);
    await fresh.close();
  });
});

describe('a passkey', () => {
  it('is added on the account page and then signs in as the second factor (Chromium virtual authenticator)', async () => {
    const { password } = await createUser(t.node.index, 'pat', 'technologist');
    const fresh = await browser.newContext();
    const p = await fresh.newPage();
    const cdp = await fresh.newCDPSession(p);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } });
    // WebAuthn needs a domain as relying party id: the loopback node by its name, not its address.
    const local = t.url.replace('127.0.0.1', 'localhost');
    const signIn = async () => {
      await p.waitForSelector('form.signin');
      await p.getByLabel('User name').fill('pat');
      await p.getByLabel('Password').fill(password);
      await p.getByRole('button', { name: 'Sign in' }).click();
    };
    await p.goto(`${local}/app/`);
    await signIn();
    await p.waitForSelector('table.studies');
    await p.getByRole('link', { name: 'My account' }).click();
    await p.getByRole('button', { name: 'Add a passkey' }).click();
    await p.waitForSelector('.mfa .ok:text("1 passkey(s)")');
    await p.getByRole('button', { name: 'Sign out' }).click();
    await signIn();
    await p.getByRole('button', { name: 'Use a passkey' }).click();
    await p.waitForSelector('table.studies');
    expect(await p.locator('.topbar .who').textContent()).toBe('pat (technologist)');
    await fresh.close();
  });
});

describe('idle logoff', () => {
  it('clears the screen and returns to sign-in after the idle time', async () => {
    const p = await context.newPage();
    await p.clock.install();
    await p.goto(`${t.url}/app/#/viewer/${data.ctStudy}/${data.ctSeries}`);
    await p.waitForSelector('main.viewer[data-ready="true"]');
    await p.clock.fastForward('16:00');
    await p.waitForSelector('form.signin');
    expect(await p.locator('canvas, .patient-banner, table').count()).toBe(0);
    expect(await p.locator('#app').textContent()).not.toContain('STACK');
    await p.close();
  });
});
