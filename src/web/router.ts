// A small path router: patterns like "/studies/:study/series/:series", matched segment by
// segment; a last part "*name" takes the rest of the path. Parameters are returned raw (URL-decoded); routes validate them.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
}
export type Handler<P> = (ctx: RouteContext & { principal: P }) => Promise<void>;

interface Route<P> { method: string; parts: string[]; handler: Handler<P> }

export class Router<P> {
  private routes: Route<P>[] = [];
  add(method: string, pattern: string, handler: Handler<P>): this {
    this.routes.push({ method, parts: pattern.split('/').filter(Boolean), handler });
    return this;
  }
  /** The handler for a path, or 'method' when the path exists under another method. */
  match(method: string, path: string): { handler: Handler<P>; params: Record<string, string> } | 'method' | undefined {
    const segs = path.split('/').filter(Boolean);
    let other = false;
    for (const r of this.routes) {
      const rest = r.parts[r.parts.length - 1]?.startsWith('*') ? r.parts.length - 1 : -1;
      if (rest < 0 ? r.parts.length !== segs.length : segs.length <= rest) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < (rest < 0 ? segs.length : rest); i++) {
        const p = r.parts[i]!;
        if (p.startsWith(':')) {
          let v: string;
          try { v = decodeURIComponent(segs[i]!); } catch { ok = false; break; }
          params[p.slice(1)] = v;
        } else if (p !== segs[i]) { ok = false; break; }
      }
      if (ok && rest >= 0) {
        try { params[r.parts[rest]!.slice(1)] = segs.slice(rest).map(decodeURIComponent).join('/'); } catch { ok = false; }
      }
      if (!ok) continue;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) { other = true; continue; }
      return { handler: r.handler, params };
    }
    return other ? 'method' : undefined;
  }
}
