/**
 * One device as a card: name and type, online state, age of the last change, every point
 * with its value, unit, quality, trend and (for roles that may write) its control.
 */
import { pointQuality } from '../client/quality.js';
import { PointControl, type WriteFn } from './controls.js';
import { h, setAttr, setText } from './dom.js';
import { formatAge, formatValue, label, QUALITY_TEXT } from './format.js';
import { Trend } from './trend.js';
import { isNumeric, type DeviceView, type PointValue, type Quality } from './types.js';

/** No change for this long is pointed out (the value may still be right: it just did not move). */
const QUIET_AFTER_S = 60;

interface PointRow {
  row: HTMLElement;
  value: HTMLElement;
  /** The word that says a value is not the device's value now (stale, bad, ...); empty when good. */
  quality: HTMLElement;
  trend: Trend | undefined;
  control: PointControl | undefined;
}

export interface CardOptions {
  device: DeviceView;
  canWrite: boolean;
  trendWindowS: number;
  write: (deviceId: string, point: string) => WriteFn;
}

export class DeviceCard {
  readonly el: HTMLElement;
  private readonly online: HTMLElement;
  private readonly age: HTMLElement;
  private readonly rows = new Map<string, PointRow>();
  private linkLive = true;
  /** The client's live object for this device, replaced on a resync. */
  private current: DeviceView;

  constructor(private readonly options: CardOptions) {
    const d = options.device;
    this.current = d;
    this.online = h('span', { class: 'online' });
    this.age = h('span', { class: 'age' });
    const list = h('div', { class: 'points' });
    for (const [name, meta] of Object.entries(d.points)) {
      const value = h('span', { class: 'num' });
      const quality = h('span', { class: 'q' });
      const trend = isNumeric(meta) ? new Trend(options.trendWindowS) : undefined;
      const control = options.canWrite && meta.access === 'rw' ? new PointControl(d.device_id, d.name, name, meta, options.write(d.device_id, name)) : undefined;
      const row = h(
        'div',
        { class: `point${meta.access === 'rw' ? ' rw' : ''}`, 'data-point': name, title: meta.description ?? '' },
        // The quality word sits on the label line (which never wraps), so a mark coming or going
        // moves no value sideways and squeezes no trend. A writable point shows its control, not a tag.
        h('div', { class: 'pl' }, h('span', { class: 'pname' }, label(name)), quality),
        h('div', { class: 'pv' }, value, meta.unit ? h('span', { class: 'unit' }, meta.unit) : null),
        trend?.el ?? null,
        control?.el ?? null,
      );
      list.append(row);
      this.rows.set(name, { row, value, quality, trend, control });
    }
    this.el = h(
      'article',
      { class: 'card', 'data-device': d.device_id, 'data-type': d.device_type },
      h(
        'header',
        {},
        h('h2', {}, d.name),
        h('div', { class: 'meta' }, h('span', { class: 'type' }, d.device_type), h('span', { class: 'id' }, d.device_id)),
        h('div', { class: 'live' }, this.online, this.age),
      ),
      list,
    );
    for (const name of this.rows.keys()) this.refresh(name);
    this.refreshOnline();
  }

  get device(): DeviceView {
    return this.current;
  }

  /** Whether the card matches a filter text (name, id or type) and a type. */
  matches(text: string, type: string): boolean {
    const d = this.current;
    if (type !== '' && d.device_type !== type) return false;
    if (text === '') return true;
    const t = text.toLowerCase();
    return d.name.toLowerCase().includes(t) || d.device_id.toLowerCase().includes(t) || d.device_type.toLowerCase().includes(t);
  }

  /** The device was replaced by a snapshot: every value may have changed. */
  resync(device: DeviceView): void {
    this.current = device;
    for (const name of this.rows.keys()) this.refresh(name);
    this.refreshOnline();
  }

  /** The quality of these points changed (from a diff; their values did not, or are refreshed by `changed`). */
  qualityChanged(device: DeviceView, names: string[]): void {
    this.current = device;
    for (const name of names) this.refreshQuality(name);
  }

  /** Points changed (from a diff at gateway time `at`). */
  changed(device: DeviceView, names: string[], at: number): void {
    this.current = device;
    for (const name of names) {
      if (name === 'online' && !this.rows.has('online')) {
        this.refreshOnline();
        continue;
      }
      this.refresh(name);
      const value = device.state[name];
      const row = this.rows.get(name);
      if (row?.trend !== undefined && typeof value === 'number') row.trend.add(at, value);
    }
  }

  seedTrend(name: string, t: number[], v: number[]): void {
    this.rows.get(name)?.trend?.seed(t, v);
  }

  /** The page's own link is up or down: without it every value is stale. */
  setLinkLive(live: boolean): void {
    this.linkLive = live;
    this.refreshOnline();
  }

  /** Once a second: ages and trends move with the clock. */
  tick(now: number): void {
    const d = this.current;
    if (d.last_update === null) {
      setText(this.age, 'no data yet');
      setAttr(this.age, 'data-quiet', 'true');
    } else {
      const s = now - d.last_update;
      const quiet = s >= QUIET_AFTER_S;
      setText(this.age, quiet ? `no change for ${formatAge(s)}` : `updated ${formatAge(s)} ago`);
      setAttr(this.age, 'data-quiet', quiet ? 'true' : null);
    }
    for (const r of this.rows.values()) r.trend?.draw(now);
  }

  private refresh(name: string): void {
    const row = this.rows.get(name);
    if (row === undefined) return;
    const value: PointValue | undefined = this.current.state[name];
    const meta = this.current.points[name];
    setText(row.value, formatValue(value, meta));
    setAttr(row.row, 'data-value', value === undefined || value === null ? null : String(value));
    row.control?.update(value ?? null);
    this.refreshQuality(name);
  }

  /**
   * Marks a point whose value is not the device's value now, with a word (never colour alone):
   * the gateway's quality, or stale for a good one while the device or the page's link is down.
   * A whole card gone stale (device offline, link down) says so once, in its badge: its points
   * are dimmed without a word each.
   */
  private refreshQuality(name: string): void {
    const row = this.rows.get(name);
    if (row === undefined) return;
    const stated = pointQuality(this.current, name);
    const cardStale = !(this.current.online && this.linkLive);
    const shown: Quality | undefined = stated === 'good' && cardStale ? 'stale' : stated;
    setAttr(row.row, 'data-quality', shown ?? null);
    const worded = shown === undefined || shown === 'good' || (shown === 'stale' && cardStale) ? undefined : shown;
    const text = worded === undefined ? undefined : QUALITY_TEXT[worded];
    setText(row.quality, text?.word ?? '');
    setAttr(row.quality, 'title', text?.why ?? null);
  }

  private refreshOnline(): void {
    const online = this.current.online;
    // Without the page's link the last known "online" is not news: the badge says stale instead.
    setText(this.online, !online ? 'offline' : this.linkLive ? 'online' : 'stale');
    setAttr(this.online, 'title', online && !this.linkLive ? QUALITY_TEXT.stale.why : null);
    setAttr(this.el, 'data-online', String(online));
    // Stale: the shown values are the last known ones, not live (device or page link down).
    setAttr(this.el, 'data-stale', online && this.linkLive ? null : 'true');
    for (const [name, r] of this.rows) {
      r.control?.setAvailable(online && this.linkLive);
      this.refreshQuality(name);
    }
  }
}
