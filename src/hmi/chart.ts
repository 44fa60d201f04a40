/**
 * A small canvas chart for the device detail view: a time axis in local time, one value axis
 * per unit (left, then right), the min/max band of aggregated buckets, stale or bad spans drawn
 * grey and dashed, and drag-to-zoom. No library: a few hundred lines cost less than any.
 */
import { formatClock, formatDateTime } from './format.js';

export interface ChartSeries {
  name: string;
  unit: string | null;
  color: string;
  /** Seconds since the epoch, oldest first. */
  t: number[];
  v: (number | null)[];
  min?: (number | null)[] | undefined;
  max?: (number | null)[] | undefined;
  q?: string[] | undefined;
  /** Raw samples hold until the next one (steps); buckets are joined by lines. */
  steps: boolean;
}

const HEIGHT = 320;
const PAD = { top: 14, bottom: 30, left: 58, right: 58 };
const TIME_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800];
/** Grid and label colours when the page states none (the dark theme's); else its --line and --muted. */
const GRID = '#2a3540';
const TEXT = '#b3bfcb';
const NOT_GOOD = '#7d8a96';

interface Axis {
  unit: string | null;
  lo: number;
  hi: number;
  side: 'left' | 'right';
}

export class Chart {
  readonly el: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private series: ChartSeries[] = [];
  private from = 0;
  private to = 1;
  private dragFrom: number | undefined;
  private dragTo: number | undefined;
  /** Called with the time range the user dragged across (seconds). */
  onZoom: (from: number, to: number) => void = () => {};
  private grid = GRID;
  private text = TEXT;

  constructor() {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'chart-canvas';
    this.canvas.setAttribute('role', 'img');
    const ctx = this.canvas.getContext('2d');
    if (ctx === null) throw new Error('this browser cannot draw on a canvas');
    this.ctx = ctx;
    this.el = document.createElement('div');
    this.el.className = 'chart';
    this.el.append(this.canvas);
    this.canvas.addEventListener('pointerdown', (e) => this.dragStart(e));
    this.canvas.addEventListener('pointermove', (e) => this.dragMove(e));
    this.canvas.addEventListener('pointerup', (e) => this.dragEnd(e));
    this.canvas.addEventListener('pointercancel', () => this.dragCancel());
  }

  set(series: ChartSeries[]): void {
    this.series = series;
  }

  get data(): readonly ChartSeries[] {
    return this.series;
  }

  setRange(from: number, to: number): void {
    this.from = from;
    this.to = Math.max(to, from + 1);
  }

  draw(): void {
    // The theme's colours (light or dark) as they are now.
    const css = getComputedStyle(this.el);
    this.grid = css.getPropertyValue('--line').trim() || GRID;
    this.text = css.getPropertyValue('--muted').trim() || TEXT;
    const width = Math.max(200, this.el.clientWidth);
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(width * dpr) || this.canvas.height !== Math.round(HEIGHT * dpr)) {
      this.canvas.width = Math.round(width * dpr);
      this.canvas.height = Math.round(HEIGHT * dpr);
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = `${HEIGHT}px`;
    }
    const c = this.ctx;
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, width, HEIGHT);
    c.font = '12px system-ui, sans-serif';
    const axes = this.axes();
    const plot = { x0: PAD.left, x1: width - (axes.length > 1 ? PAD.right : 14), y0: PAD.top, y1: HEIGHT - PAD.bottom };
    const x = (t: number) => plot.x0 + ((t - this.from) / (this.to - this.from)) * (plot.x1 - plot.x0);
    this.drawTimeAxis(plot, x);
    const rows = this.series.reduce((n, s) => n + s.t.length, 0);
    axes.forEach((a) => this.drawValueAxis(a, plot));
    c.save();
    c.beginPath();
    c.rect(plot.x0, plot.y0, plot.x1 - plot.x0, plot.y1 - plot.y0);
    c.clip();
    for (const s of this.series) {
      const axis = axes.find((a) => a.unit === s.unit)!;
      const y = (v: number) => plot.y1 - ((v - axis.lo) / (axis.hi - axis.lo)) * (plot.y1 - plot.y0);
      this.drawBand(s, x, y);
      this.drawLine(s, x, y, plot.x1);
    }
    if (this.dragFrom !== undefined && this.dragTo !== undefined) {
      c.fillStyle = 'rgba(77, 163, 255, 0.18)';
      const a = Math.min(this.dragFrom, this.dragTo);
      c.fillRect(a, plot.y0, Math.abs(this.dragTo - this.dragFrom), plot.y1 - plot.y0);
    }
    c.restore();
    this.el.dataset['from'] = String(this.from);
    this.el.dataset['to'] = String(this.to);
    this.el.dataset['rows'] = String(rows);
    this.canvas.setAttribute('aria-label', `Chart of ${this.series.map((s) => s.name).join(', ')} from ${formatDateTime(new Date(this.from * 1000))} to ${formatDateTime(new Date(this.to * 1000))}`);
  }

  /** One axis per unit: the first on the left, every other on the right. */
  private axes(): Axis[] {
    const out: Axis[] = [];
    for (const s of this.series) {
      let a = out.find((x) => x.unit === s.unit);
      if (a === undefined) out.push((a = { unit: s.unit, lo: Infinity, hi: -Infinity, side: out.length === 0 ? 'left' : 'right' }));
      for (let i = 0; i < s.t.length; i++) {
        if (s.t[i]! < this.from - 86_400 || s.t[i]! > this.to) continue;
        for (const v of [s.v[i], s.min?.[i], s.max?.[i]]) {
          if (v === null || v === undefined) continue;
          if (v < a.lo) a.lo = v;
          if (v > a.hi) a.hi = v;
        }
      }
    }
    for (const a of out) {
      if (!Number.isFinite(a.lo)) {
        a.lo = 0;
        a.hi = 1;
      }
      const span = a.hi - a.lo || Math.max(1, Math.abs(a.hi) * 0.1);
      const step = niceStep(span / 4);
      const positive = a.lo >= 0;
      a.lo = Math.floor((a.lo - span * 0.05) / step) * step;
      a.hi = Math.ceil((a.hi + span * 0.05) / step) * step;
      // A quantity that is never negative (speed, current) keeps its axis at zero.
      if (positive && a.lo < 0) a.lo = 0;
    }
    return out;
  }

  private drawTimeAxis(plot: { x0: number; x1: number; y0: number; y1: number }, x: (t: number) => number): void {
    const c = this.ctx;
    const span = this.to - this.from;
    const step = TIME_STEPS_S.find((s) => ((plot.x1 - plot.x0) * s) / span >= 90) ?? 172_800;
    // Ticks fall on local-time boundaries: a 1 h step lands on the hour as the clock on the wall shows it.
    const offset = new Date(this.from * 1000).getTimezoneOffset() * 60;
    const first = Math.ceil((this.from - offset) / step) * step + offset;
    const withDate = span > 86_400 || new Date(this.from * 1000).toDateString() !== new Date(this.to * 1000).toDateString();
    c.strokeStyle = this.grid;
    c.fillStyle = this.text;
    c.textAlign = 'center';
    c.textBaseline = 'top';
    c.lineWidth = 1;
    for (let t = first; t <= this.to; t += step) {
      const px = Math.round(x(t)) + 0.5;
      c.beginPath();
      c.moveTo(px, plot.y0);
      c.lineTo(px, plot.y1);
      c.stroke();
      const d = new Date(t * 1000);
      const time = formatClock(d, step < 60);
      const label = withDate && (step >= 86_400 || d.getHours() * 3600 + d.getMinutes() * 60 < step) ? `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${step >= 86_400 ? '' : time}` : time;
      c.fillText(label.trim(), px, plot.y1 + 6);
    }
    c.strokeStyle = this.text;
    c.beginPath();
    c.moveTo(plot.x0, plot.y1 + 0.5);
    c.lineTo(plot.x1, plot.y1 + 0.5);
    c.stroke();
  }

  private drawValueAxis(a: Axis, plot: { x0: number; x1: number; y0: number; y1: number }): void {
    const c = this.ctx;
    const step = niceStep((a.hi - a.lo) / 4);
    const y = (v: number) => plot.y1 - ((v - a.lo) / (a.hi - a.lo)) * (plot.y1 - plot.y0);
    c.fillStyle = this.text;
    c.textBaseline = 'middle';
    c.textAlign = a.side === 'left' ? 'right' : 'left';
    const xLabel = a.side === 'left' ? plot.x0 - 6 : plot.x1 + 6;
    for (let v = a.lo; v <= a.hi + step / 2; v += step) {
      const py = Math.round(y(v)) + 0.5;
      if (a.side === 'left') {
        c.strokeStyle = this.grid;
        c.beginPath();
        c.moveTo(plot.x0, py);
        c.lineTo(plot.x1, py);
        c.stroke();
      }
      c.fillText(formatTick(v, step), xLabel, py);
    }
    c.save();
    c.translate(a.side === 'left' ? 12 : plot.x1 + PAD.right - 8, (plot.y0 + plot.y1) / 2);
    c.rotate(-Math.PI / 2);
    c.textAlign = 'center';
    c.fillText(a.unit ?? '(no unit)', 0, 0);
    c.restore();
  }

  private drawBand(s: ChartSeries, x: (t: number) => number, y: (v: number) => number): void {
    if (s.min === undefined || s.max === undefined) return;
    const c = this.ctx;
    c.fillStyle = s.color;
    c.globalAlpha = 0.22;
    let open = false;
    const upper: [number, number][] = [];
    const flush = () => {
      if (!open) return;
      for (let k = upper.length - 1; k >= 0; k--) c.lineTo(upper[k]![0], upper[k]![1]);
      c.closePath();
      c.fill();
      upper.length = 0;
      open = false;
    };
    for (let i = 0; i < s.t.length; i++) {
      const lo = s.min[i];
      const hi = s.max[i];
      if (lo === null || lo === undefined || hi === null || hi === undefined) {
        flush();
        continue;
      }
      const px = x(s.t[i]!);
      if (!open) {
        c.beginPath();
        c.moveTo(px, y(lo));
        open = true;
      } else c.lineTo(px, y(lo));
      upper.push([px, y(hi)]);
    }
    flush();
    c.globalAlpha = 1;
  }

  private drawLine(s: ChartSeries, x: (t: number) => number, y: (v: number) => number, right: number): void {
    const c = this.ctx;
    c.lineWidth = 2;
    let prev: { px: number; py: number; good: boolean } | undefined;
    const segment = (x0: number, y0: number, x1: number, y1: number, good: boolean) => {
      c.strokeStyle = good ? s.color : NOT_GOOD;
      c.setLineDash(good ? [] : [5, 4]);
      c.beginPath();
      c.moveTo(x0, y0);
      if (s.steps) c.lineTo(x1, y0);
      c.lineTo(x1, y1);
      c.stroke();
    };
    for (let i = 0; i < s.t.length; i++) {
      const v = s.v[i];
      const good = (s.q?.[i] ?? 'good') === 'good';
      if (v === null || v === undefined) {
        prev = undefined;
        continue;
      }
      const px = x(s.t[i]!);
      const py = y(v);
      // The span up to this row keeps the quality of the row that started it.
      if (prev !== undefined) segment(prev.px, prev.py, px, py, prev.good);
      prev = { px, py, good };
    }
    // The last value holds until now (or the right edge).
    if (prev !== undefined && s.steps) segment(prev.px, prev.py, Math.min(right, x(Date.now() / 1000)), prev.py, prev.good);
    c.setLineDash([]);
  }

  private timeAt(clientX: number): number {
    const r = this.canvas.getBoundingClientRect();
    const plotW = r.width - PAD.left - (this.axes().length > 1 ? PAD.right : 14);
    return this.from + ((clientX - r.left - PAD.left) / plotW) * (this.to - this.from);
  }

  private dragStart(e: PointerEvent): void {
    const r = this.canvas.getBoundingClientRect();
    this.dragFrom = this.dragTo = e.clientX - r.left;
    this.canvas.setPointerCapture(e.pointerId);
  }

  private dragMove(e: PointerEvent): void {
    if (this.dragFrom === undefined) return;
    this.dragTo = e.clientX - this.canvas.getBoundingClientRect().left;
    this.draw();
  }

  private dragEnd(e: PointerEvent): void {
    if (this.dragFrom === undefined) return;
    const r = this.canvas.getBoundingClientRect();
    const a = this.timeAt(r.left + this.dragFrom);
    const b = this.timeAt(e.clientX);
    const moved = Math.abs(e.clientX - r.left - this.dragFrom);
    this.dragCancel();
    // A click is not a zoom; a zoom narrower than 5 s shows nothing useful.
    if (moved >= 8 && Math.abs(b - a) >= 5) this.onZoom(Math.max(this.from, Math.min(a, b)), Math.min(this.to, Math.max(a, b)));
  }

  private dragCancel(): void {
    this.dragFrom = this.dragTo = undefined;
    this.draw();
  }
}

/** 1, 2 or 5 times a power of ten, at least `raw`. */
export function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

function formatTick(v: number, step: number): string {
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  return v.toFixed(Math.min(digits, 6));
}
