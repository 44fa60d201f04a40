/**
 * The overview: every device as one compact row (name, line, type, online, key values, age,
 * alarm), grouped by the plant area the config gives it, sortable by clicking a column header
 * and filtered by the header's filter box. The same toolbar switches to the cards, which keep
 * the same grouping, area and filter: the overview finds a device, the cards show a selection
 * of them in full.
 *
 * The URL holds the area (`#/?area=hall-2`), so a panel can be pinned to one; the view, the
 * sort, the filter and the collapsed areas are remembered per browser (localStorage).
 * A row leads to the device's page, `#/devices/{id}`.
 */
import { PRIORITY_RANK, type AlarmView } from '../protocol/alarms.js';
import { pointQuality } from '../client/quality.js';
import { PRIORITY_ICON, PRIORITY_WORD, STATE_WORD } from './alarm-look.js';
import { h, setAttr, setText } from './dom.js';
import { formatAge, formatValue, label } from './format.js';
import { isNumeric, type DeviceView } from './types.js';

export type View = 'table' | 'cards';
type SortKey = 'name' | 'line' | 'type' | 'status' | 'age' | 'alarm';
type SortDir = 'asc' | 'desc';

/** Where the choices are kept, per browser. */
export const PREFS_KEY = 'mgw.hmi.view';
/** Up to this many devices open as cards (one panel screen of them); more open as the overview. */
export const CARDS_UP_TO = 8;
/** Values shown per row: a state (running, mode) first, then measured values. */
const KEY_VALUES = 3;
/** The group of devices without an area, when others have one. */
const NO_AREA = '';

interface Prefs {
  view?: View;
  sort?: SortKey;
  dir?: SortDir;
  filter?: string;
  type?: string;
  collapsed?: string[];
}

interface Row {
  device: DeviceView;
  /** Position in the gateway's (the config's) order: the order before any sort. */
  index: number;
  el: HTMLTableRowElement;
  status: HTMLElement;
  values: Map<string, { el: HTMLElement; value: HTMLElement }>;
  age: HTMLElement;
  alarm: HTMLElement;
  /** The worst alarm of the device (rank) and whether any is unacknowledged; for sorting. */
  alarmRank: number;
  alarmUnack: boolean;
  /** The card's place when the cards are grouped. */
  card: HTMLElement | undefined;
}

interface Group {
  area: string;
  body: HTMLTableSectionElement;
  head: HTMLButtonElement;
  summary: HTMLElement;
  /** The cards of the area, in the board. */
  cards: HTMLElement;
  cardsHead: HTMLButtonElement;
  cardsSummary: HTMLElement;
  section: HTMLElement;
}

const COLUMNS: { key: SortKey | undefined; title: string; cls: string }[] = [
  { key: 'name', title: 'Device', cls: 'c-name' },
  { key: 'line', title: 'Line', cls: 'c-line' },
  { key: 'type', title: 'Type', cls: 'c-type' },
  { key: 'status', title: 'Status', cls: 'c-status' },
  { key: undefined, title: 'Values', cls: 'c-vals' },
  { key: 'age', title: 'Age', cls: 'c-age' },
  { key: 'alarm', title: 'Alarm', cls: 'c-alarm' },
];

export interface OverviewOptions {
  /** The card board: the cards are grouped by area inside it. */
  board: HTMLElement;
  /** The header's filter box and type list: their values are remembered. */
  filterText: HTMLInputElement;
  filterType: HTMLSelectElement;
  /** The page header, whose height the sticky table head sits under. */
  header: HTMLElement;
  /** Whether the remembered filter is put back in the filter box (not in a kiosk, which hides the box). */
  restoreFilter: boolean;
  /** Re-applies the filter to the cards (and so to the rows). */
  refilter: () => void;
  /** The view changed, or the area: cards that became visible may want their trends. */
  shown: () => void;
}

export class Overview {
  readonly el: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly tableWrap: HTMLElement;
  private readonly areaSelect: HTMLSelectElement;
  private readonly areaNote: HTMLElement;
  private readonly count: HTMLElement;
  private readonly viewButtons: Record<View, HTMLButtonElement>;
  private readonly sortButtons = new Map<SortKey, HTMLButtonElement>();
  private readonly rows = new Map<string, Row>();
  private readonly groups = new Map<string, Group>();
  private readonly prefs: Prefs;
  private readonly collapsed: Set<string>;
  /** The area the URL pins, if any. */
  private area: string | undefined;
  /** Set once the gateway's device list is known (first synced): before it no area is unknown. */
  private known = false;
  private linkLive = true;
  private placeScheduled = false;
  private summaryDirty = true;
  private pendingType: string | undefined;
  private alarmList: AlarmView[] = [];
  view: View;

  constructor(private readonly options: OverviewOptions) {
    this.prefs = loadPrefs();
    this.collapsed = new Set(this.prefs.collapsed ?? []);
    this.view = this.prefs.view ?? 'cards';
    this.viewButtons = {
      table: h('button', { type: 'button', class: 'btn small', id: 'view-table', 'aria-pressed': 'false' }, 'Overview'),
      cards: h('button', { type: 'button', class: 'btn small', id: 'view-cards', 'aria-pressed': 'false' }, 'Cards'),
    };
    for (const v of ['table', 'cards'] as const) this.viewButtons[v].addEventListener('click', () => this.setView(v, true));
    this.areaSelect = h('select', { id: 'area', class: 'area-select', 'aria-label': 'Area' }, h('option', { value: '' }, 'All areas'));
    this.areaSelect.addEventListener('change', () => {
      const a = this.areaSelect.value;
      location.hash = a === '' ? '#/' : `#/?area=${encodeURIComponent(a)}`;
    });
    this.count = h('span', { class: 'ov-count', role: 'status' });
    this.areaNote = h('p', { class: 'notice area-note', id: 'area-note', role: 'alert', hidden: true });
    const headRow = h('tr', { role: 'row' });
    for (const c of COLUMNS) {
      if (c.key === undefined) {
        headRow.append(h('th', { scope: 'col', role: 'columnheader', class: c.cls }, c.title));
        continue;
      }
      const key = c.key;
      const button = h('button', { type: 'button', class: 'sort', 'data-sort': key }, c.title);
      button.addEventListener('click', () => this.sortBy(key));
      this.sortButtons.set(key, button);
      headRow.append(h('th', { scope: 'col', role: 'columnheader', class: c.cls, 'aria-sort': 'none' }, button));
    }
    // Explicit roles: the rows are laid out as grids (see overview.css), which must not cost the table its semantics.
    this.table = h('table', { class: 'ov-table', id: 'overview-table', role: 'table', 'aria-label': 'Devices: sort by a column header; a row opens the device' }, h('thead', { role: 'rowgroup' }, headRow));
    this.table.addEventListener('click', (e) => {
      const target = e.target as Element;
      if (target.closest('a, button') !== null) return;
      const row = target.closest<HTMLElement>('tr[data-row]');
      if (row !== null) location.hash = deviceHref(row.dataset['row']!);
    });
    this.tableWrap = h('div', { class: 'ov-wrap' }, this.table);
    this.el = h(
      'section',
      { class: 'overview', id: 'overview', 'aria-label': 'Devices' },
      h('div', { class: 'ov-bar' }, h('div', { class: 'ov-views', role: 'group', 'aria-label': 'View' }, this.viewButtons.table, this.viewButtons.cards), this.areaSelect, this.count),
      this.areaNote,
      this.tableWrap,
    );

    // The remembered filter: the type waits for its option, which comes with the first devices.
    if (options.restoreFilter && this.prefs.filter) options.filterText.value = this.prefs.filter;
    this.pendingType = (options.restoreFilter && this.prefs.type) || undefined;
    options.filterText.addEventListener('input', () => this.save({ filter: options.filterText.value }));
    options.filterType.addEventListener('change', () => {
      this.pendingType = undefined;
      this.save({ type: options.filterType.value });
    });
    // The table head sticks under the page header, whatever its height (it wraps on a phone).
    new ResizeObserver(() => document.documentElement.style.setProperty('--top-h', `${options.header.offsetHeight}px`)).observe(options.header);
    window.addEventListener('hashchange', () => this.route());
    // A device's page or the alarm list hides the board: the overview goes with it. (Watched here,
    // not with a CSS :has(), which made every value change in a card restyle its whole area.)
    new MutationObserver(() => (this.el.hidden = options.board.hidden)).observe(options.board, { attributes: true, attributeFilter: ['hidden'] });
    this.area = areaInUrl();
    this.applyView();
    this.showSort();
  }

  /** A device appeared, or came back as a snapshot. */
  upsert(device: DeviceView, card: HTMLElement): void {
    const had = this.rows.get(device.device_id);
    if (had !== undefined && sameShape(had.device, device)) {
      had.device = device;
      had.card = card;
      this.refreshRow(had, undefined);
      return;
    }
    had?.el.remove();
    const row = this.buildRow(device, had?.index ?? this.rows.size);
    row.card = card;
    this.rows.set(device.device_id, row);
    this.restoreType();
    this.schedulePlace();
  }

  /** Points of a device changed (an update). */
  changed(device: DeviceView, names: string[]): void {
    const row = this.rows.get(device.device_id);
    if (row === undefined) return;
    row.device = device;
    this.refreshRow(row, names);
  }

  remove(id: string): void {
    const row = this.rows.get(id);
    if (row === undefined) return;
    row.el.remove();
    row.card?.remove();
    this.rows.delete(id);
    this.schedulePlace();
  }

  /** The gateway's device list is complete (first sync): an area no device has is now unknown. */
  synced(): void {
    if (this.prefs.view === undefined) this.setView(this.rows.size > CARDS_UP_TO ? 'table' : 'cards', false);
    this.known = true;
    this.checkArea();
  }

  setLinkLive(live: boolean): void {
    this.linkLive = live;
    for (const r of this.rows.values()) this.refreshStatus(r);
  }

  /** Once a second: ages move with the clock (`now`: the gateway's time, seconds). */
  tick(now: number): void {
    if (this.summaryDirty) this.summarise();
    if (this.view !== 'table') return;
    for (const r of this.rows.values()) {
      if (r.el.hidden) continue;
      const t = r.device.last_update;
      setText(r.age, t === null ? '–' : formatAge(now - t));
    }
  }

  /** The alarm list changed: each row shows its device's worst alarm. */
  alarms(list: AlarmView[]): void {
    this.alarmList = list;
    this.showAlarms();
    if (this.prefs.sort === 'alarm') this.schedulePlace();
  }

  /** Puts the last alarm list on the rows (also on rows of devices that came after it). */
  private showAlarms(): void {
    const list = this.alarmList;
    const worst = new Map<string, AlarmView[]>();
    for (const a of list) {
      if (a.state === 'normal') continue;
      const l = worst.get(a.device_id) ?? [];
      l.push(a);
      worst.set(a.device_id, l);
    }
    for (const [id, r] of this.rows) {
      const mine = (worst.get(id) ?? []).sort((a, b) => PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority]);
      const top = mine[0];
      r.alarmRank = top === undefined ? 9 : PRIORITY_RANK[top.priority];
      r.alarmUnack = mine.some((a) => a.state === 'active_unack' || a.state === 'rtn_unack');
      // The shape, then the words (a phone shows the shape alone; the words stay for screen readers).
      const words = top === undefined ? '' : ` ${PRIORITY_WORD[top.priority]}${mine.length > 1 ? ` +${mine.length - 1}` : ''}${r.alarmUnack ? ' !' : ''}`;
      setText(r.alarm.firstElementChild!, top === undefined ? '' : PRIORITY_ICON[top.priority]);
      setText(r.alarm.lastElementChild!, words);
      setAttr(r.alarm, 'data-alarm', top?.priority ?? null);
      setAttr(r.alarm, 'title', mine.length === 0 ? null : mine.map((a) => `${PRIORITY_WORD[a.priority]}: ${a.message} (${STATE_WORD[a.state]})`).join('\n'));
      setAttr(r.el, 'data-alarm', top?.priority ?? null);
    }
    this.summarise();
  }

  /** Where closing a device's page leads: the board, with the area the panel is pinned to. */
  homeHash(): string {
    return this.area === undefined ? '#/' : `#/?area=${encodeURIComponent(this.area)}`;
  }

  /** Whether a device passes the filter box, the type list and the area the URL pins. */
  matches(device: DeviceView): boolean {
    if (this.area !== undefined && this.areaKnown(this.area) && (device.area ?? NO_AREA) !== this.area) return false;
    const type = this.options.filterType.value;
    if (type !== '' && device.device_type !== type) return false;
    const text = this.options.filterText.value.trim().toLowerCase();
    if (text === '') return true;
    return [device.name, device.device_id, device.device_type, device.area ?? '', device.line ?? ''].some((s) => s.toLowerCase().includes(text));
  }

  /** After the page filtered the cards: the rows follow their card's verdict. */
  filtered(): void {
    let shown = 0;
    const perGroup = new Map<string, number>();
    for (const r of this.rows.values()) {
      const visible = r.card === undefined ? this.matches(r.device) : !r.card.hidden;
      r.el.hidden = !visible || this.collapsed.has(this.groupOf(r));
      if (!visible) continue;
      shown++;
      perGroup.set(this.groupOf(r), (perGroup.get(this.groupOf(r)) ?? 0) + 1);
    }
    // An area with nothing to show (another area pinned, or filtered out) is left out, collapsed or not.
    for (const g of this.groups.values()) {
      const empty = (perGroup.get(g.area) ?? 0) === 0;
      g.body.hidden = empty;
      g.section.hidden = empty;
    }
    setText(this.count, shown === this.rows.size ? `${this.rows.size} devices` : `${shown} of ${this.rows.size} devices`);
    this.summarise();
  }

  private buildRow(device: DeviceView, index: number): Row {
    const id = device.device_id;
    const values = new Map<string, { el: HTMLElement; value: HTMLElement }>();
    const vals = h('td', { class: 'c-vals', role: 'cell' });
    const list = h('span', { class: 'ov-vals' });
    for (const name of keyPoints(device)) {
      const meta = device.points[name]!;
      const value = h('span', { class: 'v' });
      const el = h('span', { class: 'kv', 'data-point': name }, h('span', { class: 'k' }, label(name)), value, meta.unit ? h('span', { class: 'u' }, meta.unit) : null);
      list.append(el);
      values.set(name, { el, value });
    }
    vals.append(list);
    const status = h('span', { class: 'st' }, h('span', { class: 'st-w' }));
    const age = h('td', { class: 'c-age', role: 'cell' });
    const alarm = h('span', { class: 'al' }, h('span', { class: 'al-i' }), h('span', { class: 'al-w' }));
    const el = h(
      'tr',
      { 'data-row': id, 'data-type': device.device_type, role: 'row' },
      h('th', { scope: 'row', role: 'rowheader', class: 'c-name' }, h('a', { href: deviceHref(id), title: `${device.name} (${id})` }, device.name), device.name === id ? null : h('span', { class: 'id' }, id)),
      h('td', { class: 'c-line', role: 'cell' }, device.line ?? ''),
      h('td', { class: 'c-type', role: 'cell' }, device.device_type),
      h('td', { class: 'c-status', role: 'cell' }, status),
      vals,
      age,
      h('td', { class: 'c-alarm', role: 'cell' }, alarm),
    );
    const row: Row = { device, index, el, status, values, age, alarm, alarmRank: 9, alarmUnack: false, card: undefined };
    this.refreshRow(row, undefined);
    return row;
  }

  private refreshRow(row: Row, names: string[] | undefined): void {
    const d = row.device;
    for (const [name, cell] of row.values) {
      if (names !== undefined && !names.includes(name)) continue;
      const value = d.state[name];
      setText(cell.value, formatValue(value, d.points[name]));
      setAttr(cell.el, 'data-value', value === undefined || value === null ? null : String(value));
      const q = pointQuality(d, name);
      setAttr(cell.el, 'data-quality', q === undefined || q === 'good' ? null : q);
    }
    if (names === undefined || names.includes('online')) this.refreshStatus(row);
  }

  private refreshStatus(row: Row): void {
    const online = row.device.online;
    const state = !online ? 'offline' : this.linkLive ? 'online' : 'stale';
    setText(row.status.firstElementChild!, state);
    setAttr(row.el, 'data-state', state);
    this.summaryDirty = true;
  }

  private groupOf(r: Row): string {
    return r.device.area ?? NO_AREA;
  }

  /** Whether any device is in this area (an empty string: the devices without one). */
  private areaKnown(area: string): boolean {
    for (const r of this.rows.values()) if (this.groupOf(r) === area) return true;
    return false;
  }

  private schedulePlace(): void {
    if (this.placeScheduled) return;
    this.placeScheduled = true;
    // Devices come in a burst (a hundred in the welcome): place them once, after it.
    queueMicrotask(() => {
      this.placeScheduled = false;
      this.place();
    });
  }

  /** Puts every row (and card) into its area's group, in the chosen order. */
  private place(): void {
    this.showAlarms();
    const areas = new Set([...this.rows.values()].map((r) => this.groupOf(r)));
    const grouped = areas.size > 1 || !areas.has(NO_AREA);
    const wanted = grouped ? [...areas].sort((a, b) => (a === NO_AREA ? 1 : b === NO_AREA ? -1 : a.localeCompare(b, undefined, { numeric: true }))) : [NO_AREA];
    for (const [area, g] of this.groups) {
      if (wanted.includes(area)) continue;
      g.body.remove();
      g.section.remove();
      this.groups.delete(area);
    }
    const sorted = [...this.rows.values()].sort((a, b) => this.compare(a, b));
    for (const area of wanted) {
      const g = this.group(area, grouped);
      this.table.append(g.body);
      if (grouped) this.options.board.append(g.section);
      const mine = grouped ? sorted.filter((r) => this.groupOf(r) === area) : sorted;
      g.body.append(...mine.map((r) => r.el));
      // The cards keep the gateway's order (their trends and controls are not re-laid out on a sort).
      const cards = mine
        .slice()
        .sort((a, b) => a.index - b.index)
        .map((r) => r.card)
        .filter((c): c is HTMLElement => c !== undefined);
      if (grouped) g.cards.append(...cards);
      else this.options.board.append(...cards);
    }
    this.table.classList.toggle('no-line', ![...this.rows.values()].some((r) => r.device.line !== undefined));
    this.fillAreas([...areas].filter((a) => a !== NO_AREA).sort((a, b) => a.localeCompare(b, undefined, { numeric: true })));
    this.checkArea();
    this.options.refilter();
    this.summaryDirty = true;
  }

  private group(area: string, grouped: boolean): Group {
    const had = this.groups.get(area);
    if (had !== undefined) {
      had.body.classList.toggle('ungrouped', !grouped);
      return had;
    }
    const title = area === NO_AREA ? 'No area' : area;
    const head = h('button', { type: 'button', class: 'area-toggle', 'aria-expanded': 'true' }, title);
    const summary = h('span', { class: 'area-sum' });
    const body = h('tbody', { 'data-area': area, role: 'rowgroup' }, h('tr', { class: 'ov-area', role: 'row' }, h('th', { colspan: COLUMNS.length, scope: 'rowgroup', role: 'columnheader' }, head, summary)));
    body.classList.toggle('ungrouped', !grouped);
    const cardsHead = h('button', { type: 'button', class: 'area-toggle', 'aria-expanded': 'true' }, title);
    const cardsSummary = h('span', { class: 'area-sum' });
    const cards = h('div', { class: 'area-cards' });
    const section = h('section', { class: 'area-group', 'data-area': area }, h('h2', { class: 'area-head' }, cardsHead, cardsSummary), cards);
    const g: Group = { area, body, head, summary, cards, cardsHead, cardsSummary, section };
    for (const b of [head, cardsHead]) b.addEventListener('click', () => this.toggle(area));
    this.groups.set(area, g);
    this.showCollapsed(g);
    return g;
  }

  private toggle(area: string): void {
    if (this.collapsed.has(area)) this.collapsed.delete(area);
    else this.collapsed.add(area);
    this.save({ collapsed: [...this.collapsed] });
    const g = this.groups.get(area);
    if (g !== undefined) this.showCollapsed(g);
    this.filtered();
    if (!this.collapsed.has(area)) this.options.shown();
  }

  private showCollapsed(g: Group): void {
    const open = !this.collapsed.has(g.area);
    for (const b of [g.head, g.cardsHead]) setAttr(b, 'aria-expanded', String(open));
    g.cards.hidden = !open;
    setAttr(g.body, 'data-collapsed', open ? null : 'true');
  }

  /** Per area: how many devices, how many offline, how many in alarm (also while collapsed). */
  private summarise(): void {
    this.summaryDirty = false;
    for (const g of this.groups.values()) {
      let n = 0;
      let offline = 0;
      let alarmed = 0;
      for (const r of this.rows.values()) {
        if (this.groupOf(r) !== g.area || (r.card !== undefined && r.card.hidden)) continue;
        n++;
        if (!r.device.online) offline++;
        if (r.alarmRank < 9) alarmed++;
      }
      const text = [`${n} device${n === 1 ? '' : 's'}`, offline > 0 ? `${offline} offline` : '', alarmed > 0 ? `${alarmed} in alarm` : ''].filter(Boolean).join(' · ');
      setText(g.summary, text);
      setText(g.cardsSummary, text);
      setAttr(g.body, 'data-alarm', alarmed > 0 ? 'true' : null);
    }
  }

  private compare(a: Row, b: Row): number {
    const key = this.prefs.sort;
    if (key === undefined) return a.index - b.index;
    const by = (x: Row, y: Row): number => {
      switch (key) {
        case 'name':
          return 0;
        case 'line':
          return (x.device.line ?? '').localeCompare(y.device.line ?? '', undefined, { numeric: true });
        case 'type':
          return x.device.device_type.localeCompare(y.device.device_type);
        case 'status':
          return statusRank(x.device, this.linkLive) - statusRank(y.device, this.linkLive);
        case 'age':
          return (y.device.last_update ?? -Infinity) - (x.device.last_update ?? -Infinity);
        case 'alarm':
          return x.alarmRank - y.alarmRank || Number(y.alarmUnack) - Number(x.alarmUnack);
      }
    };
    const sign = this.prefs.dir === 'desc' ? -1 : 1;
    return sign * (by(a, b) || a.device.name.localeCompare(b.device.name, undefined, { numeric: true }) || a.index - b.index);
  }

  private sortBy(key: SortKey): void {
    const dir: SortDir = this.prefs.sort === key && this.prefs.dir === 'asc' ? 'desc' : 'asc';
    this.save({ sort: key, dir });
    this.showSort();
    this.place();
  }

  private showSort(): void {
    for (const [key, button] of this.sortButtons) {
      const th = button.parentElement!;
      const on = this.prefs.sort === key;
      setAttr(th, 'aria-sort', on ? (this.prefs.dir === 'desc' ? 'descending' : 'ascending') : 'none');
    }
  }

  private setView(view: View, chosen: boolean): void {
    this.view = view;
    if (chosen) this.save({ view });
    this.applyView();
    this.options.shown();
  }

  private applyView(): void {
    document.body.dataset['view'] = this.view;
    for (const v of ['table', 'cards'] as const) setAttr(this.viewButtons[v], 'aria-pressed', String(v === this.view));
    this.tableWrap.hidden = this.view !== 'table';
  }

  /** Reads the area from the URL: `#/?area=hall-2`. */
  private route(): void {
    // A device's page or the alarm list lies over the board: the area stays for the way back.
    if (/^#(\/devices?\/|alarms)/.test(location.hash)) return;
    const next = areaInUrl();
    if (next === this.area) return;
    this.area = next;
    this.areaSelect.value = next ?? '';
    this.checkArea();
    this.options.refilter();
    this.options.shown();
  }

  private fillAreas(areas: string[]): void {
    const have = [...this.areaSelect.options].map((o) => o.value).filter((v) => v !== '');
    if (have.join('\n') !== areas.join('\n')) {
      this.areaSelect.replaceChildren(h('option', { value: '' }, 'All areas'), ...areas.map((a) => h('option', { value: a }, a)));
    }
    this.areaSelect.hidden = areas.length === 0;
    this.areaSelect.value = this.area !== undefined && areas.includes(this.area) ? this.area : '';
  }

  /** An area in the URL that no device has: say so, and show every device rather than none. */
  private checkArea(): void {
    const unknown = this.known && this.area !== undefined && !this.areaKnown(this.area);
    this.areaNote.hidden = !unknown;
    if (!unknown) return;
    const areas = [...this.groups.keys()].filter((a) => a !== NO_AREA);
    this.areaNote.replaceChildren(
      `No area "${this.area}" on this gateway: showing all devices. `,
      areas.length === 0 ? 'No device has an area in the configuration.' : 'Areas: ',
      ...areas.flatMap((a, i) => [i > 0 ? ', ' : '', h('a', { href: `#/?area=${encodeURIComponent(a)}` }, a)]),
    );
  }

  /** The remembered type, once the list offers it. */
  private restoreType(): void {
    const want = this.pendingType;
    if (want === undefined) return;
    const select = this.options.filterType;
    if (![...select.options].some((o) => o.value === want)) return;
    this.pendingType = undefined;
    if (select.value !== want) select.value = want;
  }

  private save(change: Partial<Prefs>): void {
    Object.assign(this.prefs, change);
    try {
      localStorage.setItem(PREFS_KEY, JSON.stringify(this.prefs));
    } catch {
      // Storage off (private mode, a kiosk profile): the choice lasts for this page only.
    }
  }
}

/** The area the URL pins (`#/?area=hall-2`), if any. */
function areaInUrl(): string | undefined {
  const m = /^#\/?\?(.*)$/.exec(location.hash);
  const area = m === null ? null : new URLSearchParams(m[1]).get('area');
  return area === null || area === '' ? undefined : area;
}

/** The device's page. */
export function deviceHref(id: string): string {
  return `#/devices/${encodeURIComponent(id)}`;
}

function loadPrefs(): Prefs {
  try {
    const raw = localStorage.getItem(PREFS_KEY);
    const p = raw === null ? {} : (JSON.parse(raw) as unknown);
    if (typeof p !== 'object' || p === null) return {};
    const o = p as Record<string, unknown>;
    const prefs: Prefs = {};
    if (o['view'] === 'table' || o['view'] === 'cards') prefs.view = o['view'];
    if (typeof o['sort'] === 'string' && COLUMNS.some((c) => c.key === o['sort'])) prefs.sort = o['sort'] as SortKey;
    if (o['dir'] === 'asc' || o['dir'] === 'desc') prefs.dir = o['dir'];
    if (typeof o['filter'] === 'string') prefs.filter = o['filter'];
    if (typeof o['type'] === 'string') prefs.type = o['type'];
    if (Array.isArray(o['collapsed'])) prefs.collapsed = o['collapsed'].filter((x): x is string => typeof x === 'string');
    return prefs;
  } catch {
    return {};
  }
}

/** The values a row shows: a state (running, mode) first, then measured values, then setpoints. */
export function keyPoints(d: DeviceView): string[] {
  const entries = Object.entries(d.points);
  const state = entries.find(([, m]) => m.type === 'boolean' || m.type === 'enum');
  const measured = entries.filter(([, m]) => isNumeric(m) && m.access === 'r');
  const set = entries.filter(([, m]) => isNumeric(m) && m.access === 'rw');
  return [...(state === undefined ? [] : [state]), ...measured, ...set].slice(0, KEY_VALUES).map(([name]) => name);
}

function statusRank(d: DeviceView, linkLive: boolean): number {
  return !d.online ? 0 : linkLive ? 2 : 1;
}

/** Whether a snapshot keeps the row's columns (same points, name, area): then the row is only refreshed. */
function sameShape(a: DeviceView, b: DeviceView): boolean {
  return a.name === b.name && a.area === b.area && a.line === b.line && a.device_type === b.device_type && Object.keys(a.points).join() === Object.keys(b.points).join();
}
