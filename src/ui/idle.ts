// Idle logoff: after the session's idle time without input, the screen is wiped (DOM emptied,
// canvases cleared so no image stays in memory on screen) and the sign-in page returns.

const EVENTS = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart'] as const;

export function startIdleTimer(seconds: number, onIdle: () => void): () => void {
  let timer: number | undefined;
  const reset = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(fire, seconds * 1000) as unknown as number;
  };
  const fire = () => { stop(); onIdle(); };
  const stop = () => {
    if (timer !== undefined) clearTimeout(timer);
    for (const e of EVENTS) window.removeEventListener(e, reset, true);
  };
  for (const e of EVENTS) window.addEventListener(e, reset, { capture: true, passive: true });
  reset();
  return stop;
}

/** Removes everything the user saw: pixels first (canvas contents), then every node. */
export function wipeScreen(root: HTMLElement): void {
  for (const c of Array.from(document.querySelectorAll('canvas'))) {
    c.getContext('2d')?.clearRect(0, 0, c.width, c.height);
    c.width = 0;
    c.height = 0;
  }
  for (const img of Array.from(document.querySelectorAll('img'))) img.removeAttribute('src');
  while (root.firstChild) root.firstChild.remove();
  document.title = 'Rampart';
}
