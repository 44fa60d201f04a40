/**
 * The alarm list page (`#alarms`): the active alarms sorted by priority then time, a filter,
 * acknowledge one or every one shown, shelve with a duration, and the journal. An admin also
 * takes an alarm out of service (after a confirmation that says what it means) and returns it.
 * Roles that may not act (viewer) see no buttons; the gateway refuses them anyway.
 */
import { ALARM_PRIORITIES, compareAlarms, isUnacked, type AlarmView } from '../protocol/alarms.js';
import { h, setText } from './dom.js';
import { AlarmApi } from './alarm-api.js';
import { PRIORITY_ICON, PRIORITY_WORD, STATE_ICON, STATE_WORD, timeOf, valueText } from './alarm-look.js';

const SHELVE_CHOICES: [string, number][] = [
  ['15 min', 900],
  ['30 min', 1800],
  ['1 h', 3600],
  ['2 h', 7200],
  ['8 h', 28_800],
];

export interface AlarmListOptions {
  api: AlarmApi;
  canWrite: boolean;
  /** Out of service and return to service are an admin's. */
  admin: boolean;
}

export class AlarmList {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private readonly filter: HTMLInputElement;
  private readonly priority: HTMLSelectElement;
  private readonly ackVisible: HTMLButtonElement;
  private readonly status: HTMLElement;
  private readonly journalBody: HTMLElement;
  private readonly journal: HTMLElement;
  private readonly active: HTMLElement;
  private readonly confirm: HTMLDialogElement;
  private readonly confirmText: HTMLElement;
  private readonly confirmComment: HTMLInputElement;
  private confirming: string | undefined;
  private shown: AlarmView[] = [];
  private all: readonly AlarmView[] = [];

  constructor(private readonly options: AlarmListOptions) {
    this.filter = h('input', { type: 'search', id: 'alarm-filter', placeholder: 'Filter by device, point or text', 'aria-label': 'Filter alarms', autocomplete: 'off' });
    this.priority = h('select', { id: 'alarm-priority', 'aria-label': 'Priority' }, h('option', { value: '' }, 'All priorities'), ...ALARM_PRIORITIES.map((p) => h('option', { value: p }, PRIORITY_WORD[p])));
    this.ackVisible = h('button', { type: 'button', class: 'btn', id: 'ack-visible', hidden: !options.canWrite }, 'Acknowledge all shown');
    this.status = h('div', { class: 'al-status', role: 'status' });
    this.filter.addEventListener('input', () => this.render());
    this.priority.addEventListener('change', () => this.render());
    this.ackVisible.addEventListener('click', () => void this.run(() => this.options.api.ack(this.shown.filter(isUnacked).map((a) => a.id)), 'acknowledged'));
    this.body = h('tbody', {});
    this.active = h(
      'div',
      { class: 'al-active' },
      h('table', { class: 'al-table', id: 'alarm-table' }, h('thead', {}, h('tr', {}, ...['Priority', 'State', 'Since', 'Alarm', 'Value', ''].map((c) => h('th', {}, c)))), this.body),
    );
    this.journalBody = h('tbody', {});
    this.journal = h('div', { class: 'al-journal', hidden: true }, h('table', { class: 'al-table', id: 'alarm-journal' }, h('thead', {}, h('tr', {}, ...['Time', 'Alarm', 'Transition', 'State', 'Value', 'By'].map((c) => h('th', {}, c)))), this.journalBody));
    const tabActive = h('button', { type: 'button', class: 'btn small', 'aria-pressed': 'true' }, 'Active');
    const tabJournal = h('button', { type: 'button', class: 'btn small', id: 'alarm-journal-tab', 'aria-pressed': 'false' }, 'Journal');
    tabActive.addEventListener('click', () => {
      tabActive.setAttribute('aria-pressed', 'true');
      tabJournal.setAttribute('aria-pressed', 'false');
      this.active.hidden = false;
      this.journal.hidden = true;
    });
    tabJournal.addEventListener('click', () => {
      tabActive.setAttribute('aria-pressed', 'false');
      tabJournal.setAttribute('aria-pressed', 'true');
      this.active.hidden = true;
      this.journal.hidden = false;
      void this.loadJournal();
    });
    // The confirmation lives outside the table: the list redraws on every alarm event.
    this.confirmText = h('p', { id: 'oos-text' });
    this.confirmComment = h('input', { type: 'text', id: 'oos-comment', placeholder: 'Why (kept in the journal and the audit trail)', 'aria-label': 'Why', autocomplete: 'off', maxlength: '200' });
    const yes = h('button', { type: 'submit', class: 'btn', id: 'oos-confirm', value: 'yes' }, 'Take out of service');
    const no = h('button', { type: 'submit', class: 'btn', id: 'oos-cancel', value: 'no' }, 'Cancel');
    this.confirm = h('dialog', { class: 'oos-dialog', id: 'oos-dialog', 'aria-labelledby': 'oos-title' }, h('form', { method: 'dialog' }, h('h3', { id: 'oos-title' }, 'Take the alarm out of service?'), this.confirmText, this.confirmComment, h('div', { class: 'oos-buttons' }, no, yes))) as HTMLDialogElement;
    this.confirm.addEventListener('close', () => {
      const id = this.confirming;
      this.confirming = undefined;
      if (id === undefined || this.confirm.returnValue !== 'yes') return;
      void this.run(() => this.options.api.outOfService(id, this.confirmComment.value.trim()), 'taken out of service');
    });
    this.el = h(
      'section',
      { class: 'alarm-list', id: 'alarm-list', hidden: true, 'aria-label': 'Alarm list' },
      h('div', { class: 'al-bar' }, h('a', { href: '#', class: 'btn small' }, '← Devices'), h('h2', {}, 'Alarms'), tabActive, tabJournal, this.filter, this.priority, this.ackVisible),
      this.status,
      this.active,
      this.journal,
      this.confirm,
    );
  }

  /** Asks first: out of service silences the alarm until somebody returns it. */
  private askOutOfService(a: AlarmView): void {
    this.confirming = a.id;
    setText(this.confirmText, `${a.message} (${a.id}) will not be annunciated, whatever the value does, until an admin returns it to service.`);
    this.confirmComment.value = '';
    this.confirm.returnValue = '';
    this.confirm.showModal();
  }

  update(list: readonly AlarmView[], journalChanged: boolean): void {
    this.all = list;
    this.render();
    if (journalChanged && !this.journal.hidden) void this.loadJournal();
  }

  private render(): void {
    const text = this.filter.value.trim().toLowerCase();
    const priority = this.priority.value;
    this.shown = [...this.all]
      .filter((a) => (priority === '' || a.priority === priority) && (text === '' || `${a.id} ${a.message}`.toLowerCase().includes(text)))
      .sort(compareAlarms);
    this.ackVisible.disabled = !this.shown.some(isUnacked);
    this.body.replaceChildren(...(this.shown.length === 0 ? [h('tr', {}, h('td', { colspan: 6, class: 'al-none' }, this.all.length === 0 ? 'No alarms.' : 'No alarm matches the filter.'))] : this.shown.map((a) => this.row(a))));
  }

  private row(a: AlarmView): HTMLElement {
    const actions = h('td', { class: 'al-actions' });
    if (this.options.canWrite) {
      if (isUnacked(a)) {
        const ack = h('button', { type: 'button', class: 'btn small al-ack', 'data-ack': a.id }, 'Acknowledge');
        ack.addEventListener('click', () => void this.run(() => this.options.api.ack([a.id]), 'acknowledged'));
        actions.append(ack);
      }
      if (a.state === 'shelved') {
        const un = h('button', { type: 'button', class: 'btn small', 'data-unshelve': a.id }, 'Unshelve');
        un.addEventListener('click', () => void this.run(() => this.options.api.unshelve(a.id), 'unshelved'));
        actions.append(un);
      } else if (a.state !== 'out_of_service') {
        const select = h('select', { 'aria-label': `Shelve ${a.id} for`, 'data-shelve-for': a.id }, ...SHELVE_CHOICES.map(([label, s]) => h('option', { value: String(s) }, label)));
        const shelve = h('button', { type: 'button', class: 'btn small', 'data-shelve': a.id }, 'Shelve');
        shelve.addEventListener('click', () => void this.run(() => this.options.api.shelve(a.id, Number(select.value)), 'shelved'));
        actions.append(h('span', { class: 'al-shelve' }, select, shelve));
      }
    }
    if (this.options.admin) {
      if (a.state === 'out_of_service') {
        const back = h('button', { type: 'button', class: 'btn small', 'data-return-to-service': a.id }, 'Return to service');
        back.addEventListener('click', () => void this.run(() => this.options.api.returnToService(a.id), 'returned to service'));
        actions.append(back);
      } else {
        const oos = h('button', { type: 'button', class: 'btn small', 'data-out-of-service': a.id }, 'Out of service…');
        oos.addEventListener('click', () => this.askOutOfService(a));
        actions.append(oos);
      }
    }
    const shelvedNote = a.state === 'shelved' && a.shelved_until !== null ? ` until ${timeOf(a.shelved_until)}${a.shelved_by ? ` by ${a.shelved_by}` : ''}` : '';
    return h(
      'tr',
      { 'data-alarm': a.id, 'data-priority': a.priority, 'data-state': a.state },
      h('td', { class: 'al-pri' }, h('span', { 'aria-hidden': 'true' }, PRIORITY_ICON[a.priority]), ` ${PRIORITY_WORD[a.priority]}`),
      h('td', { class: 'al-state' }, STATE_ICON[a.state] ? h('span', { class: 'al-icon', 'aria-hidden': 'true' }, STATE_ICON[a.state]) : null, ` ${STATE_WORD[a.state]}${shelvedNote}`),
      h('td', { class: 'al-time' }, timeOf(a.active_since ?? a.last_change)),
      h('td', { class: 'al-msg' }, h('div', {}, a.message), h('div', { class: 'al-id' }, a.id)),
      h('td', { class: 'al-value' }, valueText(a)),
      actions,
    );
  }

  private async run(action: () => Promise<{ changed: number }>, verb: string): Promise<void> {
    setText(this.status, '');
    try {
      const r = await action();
      setText(this.status, `${r.changed} alarm${r.changed === 1 ? '' : 's'} ${verb}.`);
      this.status.dataset['state'] = 'ok';
    } catch (err) {
      setText(this.status, (err as Error).message);
      this.status.dataset['state'] = 'error';
    }
  }

  private async loadJournal(): Promise<void> {
    try {
      const { events } = await this.options.api.journal(200);
      this.journalBody.replaceChildren(
        ...events.map((e) =>
          h('tr', { 'data-priority': e.priority }, h('td', {}, `${new Date(e.time * 1000).toLocaleDateString()} ${timeOf(e.time)}`), h('td', {}, e.message, h('div', { class: 'al-id' }, e.alarm_id)), h('td', {}, e.transition.replace(/_/g, ' ')), h('td', {}, STATE_WORD[e.to]), h('td', {}, valueText(e)), h('td', {}, e.by?.token ?? '')),
        ),
      );
    } catch (err) {
      setText(this.status, (err as Error).message);
    }
  }
}
