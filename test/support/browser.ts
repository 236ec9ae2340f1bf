// Headless Debian Chromium driven by playwright-core, for the web app's end-to-end tests.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/**
 * Watches a page for script that should never run: the XSS corpus sets window.__xss, and any
 * CSP violation (an inline script or handler the policy blocked) is recorded.
 */
export async function watchForInjection(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => { w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`); });
  });
}

export async function injectionState(page: Page): Promise<{ xss: unknown; csp: string[] }> {
  return page.evaluate(() => {
    const w = window as unknown as { __xss?: unknown; __csp?: string[] };
    return { xss: w.__xss, csp: w.__csp ?? [] };
  });
}
