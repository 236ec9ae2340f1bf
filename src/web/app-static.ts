// Serves the browser app (built into dist/ui) at /app/. The files hold no data, so they are the
// one thing besides the liveness check and the login endpoints that answers without credentials.
// The request path only selects among the files listed at start-up: it never names a file.
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const APP_PREFIX = '/app/';
/** The sign-in page asks here whether single sign-on is configured. */
export const SIGN_IN_OPTIONS = '/app/sign-in-options.json';
/** A share link's viewer page: the app's index, in share mode. */
export const SHARE_VIEW = /^\/s\/[A-Za-z0-9_-]{1,100}\/view$/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.map': 'application/json',
};

/** dist/ui at the package root: two levels above this module both in src/web and in dist/web. */
export const UI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/ui');

export class AppFiles {
  private constructor(private readonly files: Map<string, { body: Buffer; type: string }>) {}

  static async load(dir = UI_DIR): Promise<AppFiles> {
    const files = new Map<string, { body: Buffer; type: string }>();
    const walk = async (d: string, depth: number): Promise<void> => {
      if (depth > 4) return;
      let entries;
      try { entries = await readdir(d, { withFileTypes: true }); } catch { return; } // not built: the app is absent
      for (const e of entries) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p, depth + 1);
        else if (e.isFile() && TYPES[extname(e.name)]) files.set(relative(dir, p).split(sep).join('/'), { body: await readFile(p), type: TYPES[extname(e.name)]! });
      }
    };
    await walk(dir, 0);
    return new AppFiles(files);
  }

  get available(): boolean { return this.files.has('index.html'); }

  /** Answers GET/HEAD for a path under /app/; false when no such file exists. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
    const name = pathname === APP_PREFIX || pathname === '/app' ? 'index.html' : pathname.slice(APP_PREFIX.length);
    const f = this.files.get(name);
    if (!f) return false;
    // index.html is never cached, so a new build is picked up; the modules beside it are small.
    res.writeHead(200, { 'content-type': f.type, 'content-length': String(f.body.length), 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : f.body);
    return true;
  }
}
