// Building DOM nodes for the app. Text is only ever set with textContent: a DICOM string is
// shown as the characters it holds, never parsed as HTML (there is no innerHTML in this app).

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

/** h('button', { class: 'x', onclick: fn }, 'Text', child) */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'text') el.textContent = String(v);
    // Attributes that could carry script or a navigation are never set from here.
    else if (/^on|^(href|src|srcdoc|action|formaction|style)$/i.test(k)) throw new Error(`attribute ${k} is set by dedicated code only`);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

/** An anchor to an in-app route (the fragment never reaches a server or its logs). */
export function link(route: string, ...children: Child[]): HTMLAnchorElement {
  const a = h('a', {}, ...children);
  a.href = '#' + route;
  return a;
}

export function clear(el: Element): void {
  while (el.firstChild) el.firstChild.remove();
}

export function table(headers: string[], rows: Child[][]): HTMLTableElement {
  return h('table', {},
    h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', { text: t })))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))));
}
