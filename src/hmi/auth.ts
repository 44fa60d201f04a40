/**
 * The access token of this browser tab. Kept in sessionStorage: it lives as long as the tab
 * and is never written to disk-backed storage, so a shared panel forgets it when closed.
 */
import { h } from './dom.js';

const KEY = 'mgw.token';

export function loadToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, token);
  } catch {
    // storage disabled: the token lasts until the page reloads
  }
}

/** Shows the token form in `host`; resolves with the token the operator entered. */
export function askToken(host: HTMLElement, reason: string): Promise<string> {
  return new Promise((resolve) => {
    const input = h('input', {
      id: 'token',
      type: 'password',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'mgw_…',
      required: true,
      'aria-describedby': 'token-why',
    });
    const form = h(
      'form',
      { class: 'login', id: 'login' },
      h('h2', {}, 'Access token'),
      h('p', { id: 'token-why', class: 'why' }, reason),
      h('label', { for: 'token' }, 'Token'),
      input,
      h('button', { type: 'submit', class: 'btn set' }, 'Sign in'),
      h('p', { class: 'hint' }, 'Ask the gateway administrator for a token (mgw token add). It is kept for this browser tab only.'),
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const token = input.value.trim();
      if (token === '') return;
      form.remove();
      resolve(token);
    });
    host.replaceChildren(form);
    input.focus();
  });
}
