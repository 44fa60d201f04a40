/**
 * The trends of the device page (src/hmi/device-page.ts, `#/devices/<id>`): a chart of several points of one device from the
 * history store, with range buttons (5 min to 7 days), drag-to-zoom, and live values appended
 * while it is open and shows the present.
 */
import { Api, ApiError } from './api.js';
import { Chart, type ChartSeries } from './chart.js';
import { h, setText } from './dom.js';
import { label } from './format.js';
import { isNumeric, type DeviceView, type PointValue, type StoreHistoryReply } from './types.js';

export const RANGES: { label: string; s: number }[] = [
  { label: '5 min', s: 300 },
  { label: '1 h', s: 3600 },
  { label: '8 h', s: 8 * 3600 },
  { label: '24 h', s: 86_400 },
  { label: '7 d', s: 7 * 86_400 },
];
const COLORS = ['#4da3ff', '#ffc53d', '#3ddc84', '#ff6b6b', '#c58cff', '#5ee0e0'];
/** The same hues, dark enough to read on the light theme's white. */
const LIGHT_COLORS = ['#0b5cad', '#a86400', '#0a7338', '#c41c1c', '#6b2fb3', '#007a7a'];

function palette(): string[] {
  return document.documentElement.dataset['scheme'] === 'light' ? LIGHT_COLORS : COLORS;
}

export interface DetailOptions {
  device: DeviceView;
  api: Api;
  /** The gateway's clock, seconds. */
  now: () => number;
  close: () => void;
  /** false: without its own heading and back link (inside the device page). */
  head?: boolean;
}

export class DeviceDetail {
  readonly el: HTMLElement;
  readonly deviceId: string;
  private readonly chart = new Chart();
  private readonly status: HTMLElement;
  private readonly rangeButtons: HTMLButtonElement[] = [];
  private readonly resetZoom: HTMLButtonElement;
  private readonly selected = new Set<string>();
  private rangeS = 3600;
  /** A range dragged across, or undefined while the view follows the present. */
  private zoom: { from: number; to: number } | undefined;
  private reply: StoreHistoryReply | undefined;
  private loadedAt = 0;
  private loading = 0;

  constructor(private readonly options: DetailOptions) {
    const d = options.device;
    this.deviceId = d.device_id;
    const charted = Object.entries(d.points).filter(([, m]) => isNumeric(m) || m.type === 'boolean');
    // Two measured points to start with (setpoints after them): more are a click away.
    const numeric = charted.filter(([, m]) => isNumeric(m));
    for (const [name] of [...numeric.filter(([, m]) => m.access === 'r'), ...numeric.filter(([, m]) => m.access !== 'r')].slice(0, 2)) this.selected.add(name);
    const picks = h('div', { class: 'detail-points', role: 'group', 'aria-label': 'Points on the chart' });
    charted.forEach(([name, meta]) => {
      const box = h('input', { type: 'checkbox', 'data-point': name, checked: this.selected.has(name) });
      box.addEventListener('change', () => {
        if (box.checked) this.selected.add(name);
        else this.selected.delete(name);
        void this.load();
      });
      const swatch = h('span', { class: 'swatch', 'data-swatch': name });
      picks.append(h('label', { class: 'detail-pick' }, box, swatch, `${label(name)}${meta.unit ? ` (${meta.unit})` : ''}`));
    });
    const ranges = h('div', { class: 'detail-ranges', role: 'group', 'aria-label': 'Time range' });
    for (const r of RANGES) {
      const b = h('button', { type: 'button', 'data-range': r.s }, r.label);
      b.addEventListener('click', () => {
        this.rangeS = r.s;
        this.zoom = undefined;
        void this.load();
      });
      this.rangeButtons.push(b);
      ranges.append(b);
    }
    this.resetZoom = h('button', { type: 'button', class: 'detail-reset', hidden: true }, 'Back to live');
    this.resetZoom.addEventListener('click', () => {
      this.zoom = undefined;
      void this.load();
    });
    ranges.append(this.resetZoom);
    const close = h('a', { class: 'detail-close', href: '#' }, '← All devices');
    close.addEventListener('click', (e) => {
      e.preventDefault();
      options.close();
    });
    this.status = h('p', { class: 'detail-status', 'aria-live': 'polite' });
    // Another theme: the lines in its colours (the grid and labels follow by themselves).
    // Held weakly: a closed page is collected, and its listener goes at the next change.
    const self = new WeakRef(this);
    const recolour = (): void => {
      const d = self.deref();
      if (d === undefined || !d.el.isConnected) window.removeEventListener('mgw-theme', recolour);
      else if (d.reply !== undefined) void d.load();
    };
    window.addEventListener('mgw-theme', recolour);
    this.chart.onZoom = (from, to) => {
      this.zoom = { from, to };
      void this.load();
    };
    this.el = h(
      'section',
      { class: 'detail', 'data-detail': d.device_id },
      options.head === false ? null : h('div', { class: 'detail-head' }, close, h('h2', {}, d.name ?? d.device_id), h('span', { class: 'detail-type' }, d.device_type)),
      ranges,
      this.chart.el,
      picks,
      this.status,
    );
  }

  get range(): { from: number; to: number } {
    if (this.zoom !== undefined) return this.zoom;
    const now = this.options.now();
    return { from: now - this.rangeS, to: now };
  }

  async load(): Promise<void> {
    const ticket = ++this.loading;
    for (const b of this.rangeButtons) b.setAttribute('aria-pressed', String(this.zoom === undefined && Number(b.dataset['range']) === this.rangeS));
    this.resetZoom.hidden = this.zoom === undefined;
    this.el.dataset['zoomed'] = String(this.zoom !== undefined);
    const { from, to } = this.range;
    this.chart.setRange(from, to);
    // The new range at once (with what is loaded) while its data comes.
    this.chart.draw();
    if (this.selected.size === 0) {
      this.reply = undefined;
      this.chart.set([]);
      this.chart.draw();
      setText(this.status, 'Pick a point to chart.');
      return;
    }
    const width = Math.max(200, Math.round(this.chart.el.clientWidth || 800));
    try {
      const reply = await this.options.api.historyRange(this.deviceId, [...this.selected], from, to, width);
      if (ticket !== this.loading) return; // a newer request superseded this one
      this.reply = reply;
      this.loadedAt = this.options.now();
      const series = this.toSeries(reply);
      this.chart.set(series);
      // The point list is the legend: each ticked point shows its line's colour.
      for (const sw of this.el.querySelectorAll<HTMLElement>('.swatch')) sw.style.background = series.find((x) => x.name === sw.dataset['swatch'])?.color ?? 'transparent';
      this.el.dataset['resolution'] = reply.bucket_s === null ? reply.resolution : `${reply.bucket_s}s`;
      setText(this.status, reply.bucket_s === null ? 'Every recorded change.' : `Mean with min–max band per ${duration(reply.bucket_s)} (${reply.resolution === 'raw' ? 'from raw samples' : `from the ${reply.resolution} tier`}).`);
    } catch (err) {
      if (ticket !== this.loading) return;
      setText(this.status, err instanceof ApiError ? err.message : 'The history could not be loaded.');
    }
    this.chart.draw();
  }

  /**
   * A live change of the device: extends the chart while it shows the present. A point whose
   * quality changed without a new value (a failed read, the device offline) goes on at its last
   * value with that quality (drawn grey) until it is good again.
   */
  update(values: Record<string, PointValue | boolean>, at: number, quality?: Record<string, string>): void {
    if (this.zoom !== undefined || this.reply === undefined) return;
    const reach = values['online'];
    let changed = false;
    for (const s of this.chart.data) {
      const v = values[s.name];
      let value: number | null;
      let q = quality?.[s.name] ?? 'good';
      if (typeof v === 'number' || typeof v === 'boolean') value = Number(v);
      else if (quality?.[s.name] !== undefined || typeof reach === 'boolean') {
        value = lastValue(s);
        if (quality?.[s.name] === undefined) q = reach ? 'good' : 'stale';
      } else continue;
      if (value === null) continue;
      s.t.push(at);
      s.v.push(value);
      s.min?.push(null);
      s.max?.push(null);
      s.q?.push(q);
      changed = true;
    }
    if (changed) this.el.dataset['live'] = String(at);
  }

  /** Once a second: follow the present, and fetch again when a bucket's worth of time passed. */
  tick(now: number): void {
    if (this.zoom !== undefined) return;
    const bucket = this.reply?.bucket_s ?? null;
    if (bucket !== null && now - this.loadedAt >= Math.max(bucket, 30)) {
      void this.load();
      return;
    }
    this.chart.setRange(now - this.rangeS, now);
    this.chart.draw();
  }

  private toSeries(reply: StoreHistoryReply): ChartSeries[] {
    return Object.entries(reply.points).map(([name, p], i) => ({
      name,
      unit: p.unit,
      color: palette()[i % COLORS.length]!,
      t: p.t.slice(),
      v: p.v.slice(),
      min: p.min?.slice(),
      max: p.max?.slice(),
      q: p.q?.slice() ?? p.t.map(() => 'good'),
      steps: reply.bucket_s === null,
    }));
  }
}

function lastValue(s: ChartSeries): number | null {
  for (let i = s.v.length - 1; i >= 0; i--) if (s.v[i] !== null && s.v[i] !== undefined) return s.v[i]!;
  return null;
}

function duration(s: number): string {
  if (s % 86_400 === 0) return `${s / 86_400} d`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}
