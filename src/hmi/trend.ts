/**
 * A small trend line per numeric point: the last minutes from the gateway's history, then
 * every live value. Drawn as steps (a value holds until the next change), ending at "now".
 */
const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 300;
const HEIGHT = 40;

export class Trend {
  readonly el: SVGSVGElement;
  private readonly path: SVGPathElement;
  private t: number[] = [];
  private v: number[] = [];

  constructor(private readonly windowS: number) {
    this.el = document.createElementNS(SVG, 'svg');
    this.el.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
    this.el.setAttribute('preserveAspectRatio', 'none');
    this.el.setAttribute('class', 'trend');
    this.el.setAttribute('aria-hidden', 'true');
    this.path = document.createElementNS(SVG, 'path');
    this.path.setAttribute('vector-effect', 'non-scaling-stroke');
    this.el.append(this.path);
  }

  /**
   * Adds samples from a history reply (oldest first) to those held: the window on load, or the
   * span missed while the link was down. Where both have a sample at the same time, the
   * history's is kept; live samples newer than the reply stay.
   */
  seed(t: number[], v: number[]): void {
    const mt: number[] = [];
    const mv: number[] = [];
    let i = 0;
    let j = 0;
    while (i < t.length || j < this.t.length) {
      const a = i < t.length ? t[i]! : Infinity;
      const b = j < this.t.length ? this.t[j]! : Infinity;
      if (a <= b) {
        mt.push(a);
        mv.push(v[i++]!);
        if (a === b) j++;
      } else {
        mt.push(b);
        mv.push(this.v[j++]!);
      }
    }
    this.t = mt;
    this.v = mv;
  }

  add(at: number, value: number): void {
    const n = this.t.length;
    if (n > 0 && at < this.t[n - 1]!) return;
    this.t.push(at);
    this.v.push(value);
    // A card off screen is not drawn, so trim here too: memory stays bounded by the window.
    if (this.t.length > 2048) this.trim(at - this.windowS);
  }

  /** Redraws up to `now` (gateway clock, seconds); cheap enough to call once a second. */
  draw(now: number): void {
    const from = now - this.windowS;
    this.trim(from);
    if (this.t.length === 0) {
      this.path.setAttribute('d', '');
      return;
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of this.v) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const span = hi - lo || Math.max(1, Math.abs(hi) * 0.1);
    const pad = span * 0.1;
    const y = (val: number) => (HEIGHT - 2 - ((val - (lo - pad)) / (span + 2 * pad)) * (HEIGHT - 4)).toFixed(1);
    // The time axis starts at the window or at the first sample, whichever is later, so a
    // young history fills the width instead of hugging the right edge. At least 10 s wide.
    const left = Math.min(Math.max(from, this.t[0]!), now - 10);
    const x = (at: number) => (((Math.max(at, left) - left) / (now - left)) * WIDTH).toFixed(1);
    let d = `M${x(this.t[0]!)} ${y(this.v[0]!)}`;
    for (let i = 1; i < this.t.length; i++) d += `H${x(this.t[i]!)}V${y(this.v[i]!)}`;
    d += `H${WIDTH}`;
    this.path.setAttribute('d', d);
  }

  /** Drops samples before `from`, keeping the one that gives the value at `from`. */
  private trim(from: number): void {
    let first = 0;
    while (first + 1 < this.t.length && this.t[first + 1]! <= from) first++;
    if (first > 0) {
      this.t.splice(0, first);
      this.v.splice(0, first);
    }
  }
}
