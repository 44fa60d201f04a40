/**
 * The confirmation asked before a write that can hurt (Start/Stop, a point with `confirm: true`):
 * a modal <dialog> the browser makes accessible (role dialog, focus kept inside it, Escape
 * cancels). Focus starts on Cancel, so a stray Enter does not confirm; Tab reaches the action,
 * whose name repeats what it does ("Stop Conveyor drive").
 */
import { h, setText } from './dom.js';

export interface ConfirmText {
  /** The question, e.g. "Stop Conveyor drive?" */
  title: string;
  /** What changes, e.g. "Running: ON → OFF (motor_01)" */
  detail: string;
  /** The confirming button's text, e.g. "Stop" */
  action: string;
  /** Its accessible name, e.g. "Stop Conveyor drive Running" */
  actionName: string;
}

let dialog: { el: HTMLDialogElement; title: HTMLElement; detail: HTMLElement; ok: HTMLButtonElement; cancel: HTMLButtonElement } | undefined;
/** The answer of the question open now. */
let answer: ((ok: boolean) => void) | undefined;

function build(): NonNullable<typeof dialog> {
  const title = h('h2', { id: 'confirm-title' });
  const detail = h('p', { id: 'confirm-detail' });
  const cancel = h('button', { type: 'button', class: 'btn', value: 'cancel', 'data-confirm': 'cancel' }, 'Cancel');
  const ok = h('button', { type: 'button', class: 'btn set', value: 'ok', 'data-confirm': 'ok' });
  const el = h('dialog', { class: 'confirm', id: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-detail' }, title, detail, h('div', { class: 'confirm-actions' }, cancel, ok));
  // Answered at once, in the click (or Escape's cancel event): the browser fires `close` in a
  // later task, and a control waiting for it would still be busy for a key pressed meanwhile.
  cancel.addEventListener('click', () => {
    el.close('cancel');
    answer?.(false);
  });
  ok.addEventListener('click', () => {
    el.close('ok');
    answer?.(true);
  });
  el.addEventListener('cancel', (ev) => {
    // Escape: closed here, so focus can go back before the answer is acted on.
    ev.preventDefault();
    el.close('cancel');
    answer?.(false);
  });
  el.addEventListener('close', () => answer?.(el.returnValue === 'ok'));
  document.body.append(el);
  return { el, title, detail, ok, cancel };
}

/** Asks; resolves true when the operator confirmed, false on Cancel or Escape. */
export function askConfirm(text: ConfirmText): Promise<boolean> {
  dialog ??= build();
  const d = dialog;
  if (d.el.open) return Promise.resolve(false);
  setText(d.title, text.title);
  setText(d.detail, text.detail);
  setText(d.ok, text.action);
  d.ok.setAttribute('aria-label', text.actionName);
  d.el.returnValue = '';
  // Focus goes back where it was (the button that asked), for the keyboard.
  const back = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
  return new Promise((resolve) => {
    answer = (ok) => {
      answer = undefined;
      if (back?.isConnected) back.focus();
      resolve(ok);
    };
    d.el.showModal();
    d.cancel.focus();
  });
}
