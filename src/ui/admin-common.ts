// Small pieces the administration pages share: a date format and a confirmed action button.
import { h } from './dom.js';

export type Rerender = () => Promise<void>;

/** An ISO time as "YYYY-MM-DD HH:MM" (UTC, as the server stores it). */
export const fmt = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 16) : '');

/** A button that asks first, runs the change, then redraws the page (or shows why it failed). */
export function actionButton(label: string, confirmText: string, fn: () => Promise<void>, rerender: Rerender, ariaLabel?: string): HTMLButtonElement {
  const b = h('button', { type: 'button', text: label, 'aria-label': ariaLabel });
  b.addEventListener('click', () => {
    if (!confirm(confirmText)) return;
    void fn().then(rerender, (e: Error) => alert(e.message));
  });
  return b;
}
