// The web app's administration of access in a real browser (Debian's headless Chromium): changing
// a role, disabling a user (who is then refused at sign-in), groups and their members, adding and
// revoking a grant, and ending another user's web session. Each user signs in in their own context.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/security/authenticate.js';
import { systemPrincipal } from '../../src/security/principal.js';
import { injectionState, launchBrowser, watchForInjection } from '../support/browser.js';
import { buildOnce } from '../support/build.js';
import { makeInstance } from '../support/make-dicom.js';
import { startTestNode, type TestNode } from '../support/node.js';

let t: TestNode;
let browser: Browser;
let admin: Page;
const shots = join(process.env.RAMPART_SCREENSHOTS ?? '/tmp/rampart-e2e-screenshots');
const PATIENT = 'GRANT-PAT-7';
const study = makeInstance({ PatientID: PATIENT });
/** A password that passes the rules (it must not contain the username). */
const pw = (u: string) => `correct horse battery staple #${[...u].map((c) => c.charCodeAt(0)).join('.')}`;

/** Signs in on a fresh page of `context`; resolves to the page once the top bar (signed in) or the refusal shows. */
async function signIn(context: BrowserContext, username: string, password = pw(username)): Promise<{ page: Page; ok: boolean }> {
  const page = await context.newPage();
  await page.goto(`${t.url}/app/`);
  await page.waitForSelector('form.signin');
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const which = await Promise.race([
    page.waitForSelector(`.topbar .who:text-matches("^${username} ")`).then(() => true),
    page.waitForSelector('form.signin .error:text("not right")').then(() => false),
  ]);
  return { page, ok: which };
}

/** What the page's own session gets from the API now. */
const meStatus = (p: Page) => p.evaluate(async () => (await fetch('/api/auth/me')).status);

async function adminGo(route: string, ready: string): Promise<void> {
  await admin.goto(`${t.url}/app/#/admin/${route}`);
  await admin.waitForSelector(ready);
}

const rowOf = (text: string) => admin.locator('.admin-body tbody tr', { has: admin.locator(`td:text-is("${text}")`) });

beforeAll(async () => {
  await buildOnce();
  await mkdir(shots, { recursive: true });
  t = await startTestNode();
  expect((await t.node.ingest.ingest(systemPrincipal(), (async function* () { yield study.bytes; })())).ok).toBe(true);
  for (const [u, role] of [['nina', 'radiologist'], ['omar', 'referring'], ['pia', 'technologist']] as const) await createUser(t.node.index, u, role, pw(u));
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1300, height: 900 } });
  await watchForInjection(context);
  const signedIn = await signIn(context, 'admin', t.adminPassword);
  expect(signedIn.ok).toBe(true);
  admin = signedIn.page;
  admin.on('dialog', (d) => void d.accept()); // every confirmation is answered yes
  admin.setDefaultTimeout(10_000); // a broken selector fails its own test with its name, not a timeout
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('administering users', () => {
  it('changes a user\'s role from the Users page', async () => {
    await adminGo('users', '.admin-body table');
    expect(await admin.getByLabel('Access level of nina').inputValue()).toBe('radiologist');
    await admin.getByLabel('Access level of nina').selectOption('auditor');
    await expect.poll(async () => (await t.node.index.getUserByName('nina'))?.role).toBe('auditor');
    await admin.waitForSelector('.admin-body table');
    expect(await admin.getByLabel('Access level of nina').inputValue()).toBe('auditor');
    // One's own row offers no way to lock oneself out.
    expect(await rowOf('admin').locator('td').allTextContents()).toEqual(['admin', 'admin', 'active (you)', expect.any(String), '', '']);
    expect(await rowOf('admin').locator('button, select').count()).toBe(0);
    // The nav now offers the new pages.
    expect(await admin.locator('.admin-nav a').allTextContents()).toEqual(['Users', 'Groups', 'Grants', 'Sessions', 'API tokens', 'DICOM peers', 'Settings', 'Security status']);
  });

  it('disables a user, who is signed out and refused at sign-in, and enables them again', async () => {
    const omarContext = await browser.newContext();
    const omar = await signIn(omarContext, 'omar');
    expect(omar.ok).toBe(true);
    await adminGo('users', '.admin-body table');
    await rowOf('omar').getByRole('button', { name: 'Disable' }).click();
    await admin.waitForSelector('.admin-body tbody tr:has(td:text-is("omar")) .warn:text("disabled")');
    await writeFile(join(shots, 'admin-users-disabled.png'), await admin.screenshot());
    expect(await meStatus(omar.page)).toBe(401);
    expect((await signIn(omarContext, 'omar')).ok).toBe(false);
    await rowOf('omar').getByRole('button', { name: 'Enable' }).click();
    await admin.waitForSelector('.admin-body tbody tr:has(td:text-is("omar")) .ok:text("active")');
    expect((await signIn(omarContext, 'omar')).ok).toBe(true);
    await omarContext.close();
  });
});

describe('administering groups', () => {
  it('creates a group with a member, adds another, and removes the first', async () => {
    await adminGo('groups', 'form[aria-label="Create a group"]');
    await admin.getByLabel('Group name').fill('ward-7');
    await admin.getByLabel('Members').fill('nina');
    await admin.getByRole('button', { name: 'Create group' }).click();
    await admin.waitForSelector('.admin-body td:text-is("ward-7")');
    expect(await rowOf('ward-7').locator('.members li span').allTextContents()).toEqual(['nina']);
    await admin.getByLabel('New member of ward-7').fill('pia');
    await rowOf('ward-7').getByRole('button', { name: 'Add', exact: true }).click();
    await admin.waitForSelector('.admin-body .members span:text-is("pia")');
    expect((await rowOf('ward-7').locator('.members li span').allTextContents()).sort()).toEqual(['nina', 'pia']);
    await admin.getByRole('button', { name: 'Remove nina from ward-7' }).click();
    await admin.waitForSelector('.admin-body .members span:text-is("nina")', { state: 'detached' });
    expect(await rowOf('ward-7').locator('.members li span').allTextContents()).toEqual(['pia']);
    const pia = (await t.node.index.getUserByName('pia'))!;
    expect(await t.node.accessStore.groupsOf(pia.id)).toEqual(['ward-7']);
  });
});

describe('administering grants', () => {
  it('adds a grant of a patient to a user, filters the list, and revokes it, without the patient ID in the URL', async () => {
    await adminGo('grants', 'form[aria-label="Add a grant"]');
    await admin.getByLabel('Grant to').selectOption('user');
    await admin.getByLabel('User or group name').fill('omar');
    await admin.getByLabel('What', { exact: true }).selectOption('patient');
    await admin.getByLabel('Study Instance UID or Patient ID').fill(PATIENT);
    await admin.getByLabel('Days (empty: no expiry)').fill('7');
    await admin.getByRole('button', { name: 'Add grant' }).click();
    await admin.waitForSelector('.admin-body td:text-is("user omar")');
    const row = rowOf('user omar');
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 3)).toEqual(['user omar', `patient ${PATIENT}`, 'grant']);
    expect(Date.parse(`${cells[3]}Z`.replace(' ', 'T')) - Date.now()).toBeGreaterThan(6 * 86_400_000);
    expect(cells[4]).toBe('admin');
    const omar = (await t.node.index.getUserByName('omar'))!;
    expect((await t.node.accessStore.listGrants()).map((g) => [g.subject, g.patientId])).toEqual([[omar.id, PATIENT]]);
    // The filter stays in the page.
    await admin.getByLabel('Filter grants').fill('no such name');
    await admin.waitForSelector('.grant-list .hint:text("0 of 1 grant(s)")');
    await admin.getByLabel('Filter grants').fill('GRANT-PAT');
    await admin.waitForSelector('.grant-list .hint:text("1 of 1 grant(s)")');
    expect(admin.url()).not.toContain(PATIENT);
    await writeFile(join(shots, 'admin-grants.png'), await admin.screenshot());
    await admin.getByRole('button', { name: 'Revoke the grant to user omar' }).click();
    await admin.waitForSelector('.admin-body td:text-is("user omar")', { state: 'detached' });
    expect(await t.node.accessStore.listGrants()).toEqual([]);
  });
});

describe('administering sessions', () => {
  it('shows another user\'s session with its browser and address, and ends it so their next call answers 401', async () => {
    const piaContext = await browser.newContext({ userAgent: 'PiaBrowser/1.0 <b class="injected">ward 7</b>' });
    const pia = await signIn(piaContext, 'pia');
    expect(pia.ok).toBe(true);
    await adminGo('sessions', '.admin-body table');
    const cells = await rowOf('pia').locator('td').allTextContents();
    expect(cells[0]).toBe('pia');
    expect(cells[3]).toMatch(/127\.0\.0\.1/);
    expect(cells[4]).toBe('PiaBrowser/1.0 <b class="injected">ward 7</b>'); // shown as text, never as markup
    expect(await admin.locator('.injected').count()).toBe(0);
    expect(cells[5]).toBe('password');
    expect(await admin.locator('.admin-body td:text-is("admin")').count()).toBe(1); // the administrator's own session is listed too
    await writeFile(join(shots, 'admin-sessions.png'), await admin.screenshot());
    // The filter keeps to the page and narrows the list to one user's sessions.
    const asked: string[] = [];
    admin.on('request', (r) => asked.push(r.url()));
    await admin.getByRole('searchbox', { name: 'Filter sessions' }).fill('PIA');
    await admin.waitForSelector('.admin-body td:text-is("admin")', { state: 'detached' });
    expect(await admin.locator('.admin-body tbody tr').count()).toBe(1);
    expect(await admin.locator('.admin-body .session-list .hint').textContent()).toMatch(/^1 of \d+ session\(s\)$/);
    await admin.getByRole('searchbox', { name: 'Filter sessions' }).fill('');
    await admin.waitForSelector('.admin-body td:text-is("admin")');
    expect(asked).toEqual([]);
    expect(await meStatus(pia.page)).toBe(200);
    await admin.getByRole('button', { name: /^End the session of pia from / }).click();
    await admin.waitForSelector('.admin-body td:text-is("pia")', { state: 'detached' });
    expect(await meStatus(pia.page)).toBe(401);
    expect(await meStatus(admin)).toBe(200);
    expect((await injectionState(admin)).csp).toEqual([]);
    await piaContext.close();
  });
});
