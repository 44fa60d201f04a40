/**
 * Controls for one writable point: a slider with a number field for numbers with a range,
 * start/stop buttons for booleans, a selector for enums, a text field for strings.
 *
 * A write shows "pending" until the gateway answers; the point's displayed value changes only
 * when the device's read-back arrives, never optimistically, so it cannot flicker back.
 * While the operator edits a field, live updates do not overwrite what they typed.
 *
 * Start/Stop of a run command, and any write of a point with `confirm: true` in the config, ask
 * for a confirmation first (a dialog, src/hmi/confirm.ts). From the click until the gateway's
 * answer the control is busy (`aria-busy`, its inputs disabled): a write cannot be sent twice.
 */
import { askConfirm } from './confirm.js';
import { h, setAttr, setText } from './dom.js';
import { formatValue, label } from './format.js';
import type { PointMeta, PointValue } from './types.js';

/** Sends one value; resolves with the value the device confirmed. */
export type WriteFn = (value: PointValue) => Promise<PointValue>;

export class PointControl {
  readonly el: HTMLElement;
  private readonly status: HTMLElement;
  private readonly inputs: (HTMLInputElement | HTMLSelectElement | HTMLButtonElement)[] = [];
  private dirty = false;
  private busy = false;
  private available = true;
  private statusTimer: number | undefined;
  private sync: (value: PointValue) => void = () => undefined;
  /** The point's value as last heard from the gateway. */
  private current: PointValue | undefined;
  /** Start/Stop of a run command (asks for a confirmation unless the config says confirm: false). */
  private isRun = false;

  constructor(
    private readonly deviceId: string,
    private readonly deviceName: string,
    private readonly name: string,
    private readonly meta: PointMeta,
    private readonly write: WriteFn,
  ) {
    this.status = h('div', { class: 'wstatus', role: 'status', 'aria-live': 'polite' });
    this.el = h('div', { class: 'ctl' }, this.build(), this.status);
  }

  /** The point's current value from the gateway. */
  update(value: PointValue): void {
    this.current = value;
    this.sync(value);
  }

  /**
   * Writes need the device online and the page connected: otherwise the controls are
   * disabled rather than offering a write that can only fail.
   */
  setAvailable(available: boolean): void {
    this.available = available;
    for (const i of this.inputs) i.disabled = !available;
    this.el.toggleAttribute('data-unavailable', !available);
  }

  private build(): HTMLElement {
    const { meta, name } = this;
    const id = `${this.deviceId}--${name}`;
    // A screen reader hears which device and point a control acts on, not a bare "Start" or "Set".
    const what = `${this.deviceName} ${label(name)}`;
    switch (meta.type) {
      case 'boolean': {
        const isRun = /^(running|run|enabled?|on)$/i.test(name);
        this.isRun = isRun;
        const onWord = isRun ? 'Start' : 'On';
        const offWord = isRun ? 'Stop' : 'Off';
        const on = h('button', { type: 'button', class: 'btn on', 'data-value': 'true', 'aria-label': `${onWord} ${what}` }, onWord);
        const off = h('button', { type: 'button', class: 'btn off', 'data-value': 'false', 'aria-label': `${offWord} ${what}` }, offWord);
        on.addEventListener('click', () => this.send(true));
        off.addEventListener('click', () => this.send(false));
        this.inputs.push(on, off);
        this.sync = (v) => {
          setAttr(on, 'aria-pressed', String(v === true));
          setAttr(off, 'aria-pressed', String(v === false));
        };
        return h('div', { class: 'row' }, on, off);
      }
      case 'enum': {
        const select = h('select', { id, 'aria-label': `${what}, new value` }, ...(meta.enum ?? []).map((e) => h('option', { value: e }, e)));
        const set = this.setButton(what, () => this.send(select.value));
        select.addEventListener('change', () => (this.dirty = true));
        this.inputs.push(select, set);
        this.sync = (v) => {
          if (!this.dirty && typeof v === 'string') select.value = v;
        };
        return h('div', { class: 'row' }, select, set);
      }
      case 'string': {
        const input = h('input', { id, type: 'text', 'aria-label': `${what}, new value`, autocomplete: 'off' });
        const set = this.setButton(what, () => this.send(input.value));
        input.addEventListener('input', () => (this.dirty = true));
        this.inputs.push(input, set);
        this.sync = (v) => {
          if (!this.dirty && document.activeElement !== input) input.value = v === null ? '' : String(v);
        };
        return h('div', { class: 'row' }, input, set);
      }
      case 'number':
      case 'integer': {
        const step = meta.type === 'integer' ? '1' : 'any';
        const number = h('input', {
          id,
          type: 'number',
          inputmode: meta.type === 'integer' ? 'numeric' : 'decimal',
          step,
          min: meta.min,
          max: meta.max,
          'aria-label': `${what}, new value`,
        });
        const parts: HTMLElement[] = [];
        let slider: HTMLInputElement | undefined;
        if (meta.min !== undefined && meta.max !== undefined) {
          const s = h('input', {
            type: 'range',
            min: meta.min,
            max: meta.max,
            step: meta.type === 'integer' ? Math.max(1, Math.round((meta.max - meta.min) / 300)) : (meta.max - meta.min) / 300,
            'aria-label': `${what}, slider`,
          });
          s.addEventListener('input', () => {
            this.dirty = true;
            number.value = s.value;
          });
          slider = s;
          parts.push(s);
          this.inputs.push(s);
        }
        number.addEventListener('input', () => {
          this.dirty = true;
          if (slider !== undefined && number.value !== '') slider.value = number.value;
        });
        const set = this.setButton(what, () => {
          const raw = number.value.trim();
          const n = Number(raw);
          if (raw === '' || !Number.isFinite(n)) {
            this.show('error', `Enter a number${range(meta)}.`);
            return;
          }
          // The range is the gateway's to check: its message names the point and the limit.
          void this.send(meta.type === 'integer' ? Math.round(n) : n);
        });
        number.addEventListener('keydown', (ev) => {
          if (ev.key === 'Enter') {
            // Not also a key press for whatever has the focus next (the confirmation's Cancel).
            ev.preventDefault();
            set.click();
          }
          if (ev.key === 'Escape') this.dirty = false;
        });
        this.inputs.push(number, set);
        this.sync = (v) => {
          if (this.dirty || typeof v !== 'number') return;
          if (document.activeElement !== number) number.value = String(v);
          if (slider !== undefined) slider.value = String(v);
        };
        return h('div', { class: 'row num-row' }, ...parts, number, set);
      }
    }
  }

  private setButton(what: string, onClick: () => void): HTMLButtonElement {
    const b = h('button', { type: 'button', class: 'btn set', 'aria-label': `Set ${what}` }, 'Set');
    b.addEventListener('click', onClick);
    return b;
  }

  /** Whether a write of this point asks first. */
  get confirms(): boolean {
    return this.meta.confirm ?? this.isRun;
  }

  private async send(value: PointValue): Promise<void> {
    if (this.busy) return;
    // Busy from the click to the answer: every further activation is dropped. The inputs are
    // marked (aria-disabled), not disabled, so the keyboard focus stays where the operator left it.
    this.busy = true;
    this.el.setAttribute('aria-busy', 'true');
    for (const i of this.inputs) {
      i.setAttribute('aria-disabled', 'true');
      if (i instanceof HTMLInputElement && i.type !== 'range') i.readOnly = true;
    }
    try {
      if (this.confirms && !(await askConfirm(this.question(value)))) {
        this.show('cancelled', 'Not sent (cancelled).');
        return;
      }
      await this.sendNow(value);
    } finally {
      this.busy = false;
      this.el.removeAttribute('aria-busy');
      for (const i of this.inputs) {
        i.removeAttribute('aria-disabled');
        if (i instanceof HTMLInputElement) i.readOnly = false;
      }
    }
  }

  private question(value: PointValue): { title: string; detail: string; action: string; actionName: string } {
    const what = `${this.deviceName} ${label(this.name)}`;
    const now = this.current === undefined ? '–' : `${formatValue(this.current, this.meta)}${unit(this.meta)}`;
    const next = `${formatValue(value, this.meta)}${unit(this.meta)}`;
    const detail = `${label(this.name)}: ${now} → ${next} (${this.deviceId}.${this.name})`;
    if (this.isRun && typeof value === 'boolean') {
      const verb = value ? 'Start' : 'Stop';
      return { title: `${verb} ${this.deviceName}?`, detail, action: verb, actionName: `${verb} ${what}` };
    }
    return { title: `Set ${what} to ${next}?`, detail, action: 'Set', actionName: `Set ${what} to ${next}` };
  }

  private async sendNow(value: PointValue): Promise<void> {
    this.show('pending', `Sending ${formatValue(value, this.meta)}${unit(this.meta)}…`);
    try {
      const confirmed = await this.write(value);
      this.dirty = false;
      this.sync(confirmed);
      this.show('confirmed', `Confirmed ${formatValue(confirmed, this.meta)}${unit(this.meta)}`);
    } catch (err) {
      this.show('error', err instanceof Error ? err.message : String(err));
    }
  }

  private show(state: 'pending' | 'confirmed' | 'error' | 'cancelled', text: string): void {
    clearTimeout(this.statusTimer);
    this.status.dataset['state'] = state;
    setText(this.status, text);
    // A confirmation is news for a moment; an error stays until the next attempt.
    if (state === 'confirmed' || state === 'cancelled') {
      this.statusTimer = window.setTimeout(() => {
        delete this.status.dataset['state'];
        setText(this.status, '');
      }, 8000);
    }
  }
}

function unit(meta: PointMeta): string {
  return meta.unit ? ` ${meta.unit}` : '';
}

function range(meta: PointMeta): string {
  if (meta.min !== undefined && meta.max !== undefined) return ` from ${meta.min} to ${meta.max}${unit(meta)}`;
  if (meta.min !== undefined) return ` of at least ${meta.min}${unit(meta)}`;
  if (meta.max !== undefined) return ` of at most ${meta.max}${unit(meta)}`;
  return '';
}
