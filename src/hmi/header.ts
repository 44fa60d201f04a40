/**
 * The page header: the state of the page's own link to the gateway, who the page is signed
 * in as, and the filter by name or type.
 */
import { h, setAttr, setText } from './dom.js';

export type PageLink = 'signin' | 'connecting' | 'connected' | 'reconnecting' | 'resynced';

const LINK_TEXT: Record<PageLink, string> = {
  signin: 'Token needed',
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  resynced: 'Live · resynced',
};

export class Header {
  readonly el: HTMLElement;
  readonly filterText: HTMLInputElement;
  readonly filterType: HTMLSelectElement;
  private readonly link: HTMLElement;
  private readonly linkDetail: HTMLElement;
  private readonly role: HTMLElement;
  readonly signOut: HTMLButtonElement;

  constructor(onFilter: () => void) {
    this.link = h('span', { class: 'link-state' });
    this.linkDetail = h('span', { class: 'link-detail' });
    this.role = h('span', { class: 'role', id: 'role' });
    this.signOut = h('button', { type: 'button', class: 'btn small', id: 'sign-out', hidden: true }, 'Sign out');
    this.filterText = h('input', { type: 'search', id: 'filter', placeholder: 'Filter by name, id or type', 'aria-label': 'Filter devices', autocomplete: 'off' });
    this.filterType = h('select', { id: 'filter-type', 'aria-label': 'Device type' }, h('option', { value: '' }, 'All types'));
    this.filterText.addEventListener('input', onFilter);
    this.filterType.addEventListener('change', onFilter);
    this.el = h(
      'header',
      { class: 'top' },
      h('h1', {}, 'machine-gateway'),
      h('div', { class: 'link', id: 'link', role: 'status', 'aria-live': 'polite' }, this.link, this.linkDetail),
      h('div', { class: 'filters' }, this.filterText, this.filterType),
      h('div', { class: 'who' }, this.role, this.signOut),
    );
    this.setLink('connecting', '');
  }

  setLink(state: PageLink, detail: string): void {
    setAttr(this.el, 'data-link', state);
    setText(this.link, LINK_TEXT[state]);
    setText(this.linkDetail, detail);
  }

  setRole(text: string, canWrite: boolean, signedIn: boolean): void {
    setText(this.role, text);
    setAttr(this.role, 'data-write', String(canWrite));
    this.signOut.hidden = !signedIn;
  }

  /** Offers every device type present. */
  setTypes(types: string[]): void {
    const current = this.filterType.value;
    const sorted = [...new Set(types)].sort();
    const have = [...this.filterType.options].map((o) => o.value).filter((v) => v !== '');
    if (have.join('\n') === sorted.join('\n')) return;
    this.filterType.replaceChildren(h('option', { value: '' }, 'All types'), ...sorted.map((t) => h('option', { value: t }, t)));
    this.filterType.value = sorted.includes(current) ? current : '';
  }
}
