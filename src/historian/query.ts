/**
 * History requests against the store: `from`/`to` (epoch seconds, or back from now: `-3600`,
 * `-90m`, `-24h`, `-7d`, `now`), `points`, and `resolution` (`raw`, `1m`, `1h`) or `max_points`,
 * which picks the coarsest tier needed and re-buckets so a 7-day chart is ~1000 buckets, not
 * 600,000 samples. Limits on span and rows keep one request from taking the gateway's memory.
 */
import { GatewayError } from '../core/errors.js';
import type { PointMap, Quality } from '../core/points.js';
import { emptyBucket, mergeBucket, addSample, bucketStart, HOUR_MS, MINUTE_MS } from './buckets.js';
import { QUALITY_CODES, type Aggregate } from './format.js';
import type { HistoryStore, Tier } from './store.js';
import { isKept } from './historian.js';
import { isoTime } from '../core/time.js';

export const DEFAULT_MAX_POINTS = 1000;
export const MAX_POINTS_LIMIT = 100_000;

export interface StoreQuery {
  fromMs: number;
  toMs: number;
  points: string[];
  resolution: Tier | undefined;
  maxPoints: number;
}

export interface HistoryLimits {
  maxRows: number;
  maxRawSpanMs: number;
}

/** One point's answer: raw samples (t, v, q) or buckets (t = bucket start, v = mean, min, max, n). */
export interface PointSeries {
  unit: string | null;
  t: number[];
  v: (number | null)[];
  min?: (number | null)[];
  max?: (number | null)[];
  n?: number[];
  /** Quality per row, only present when some row is not good (for a bucket: the worst in it). */
  q?: Quality[];
}

export interface StoreAnswer {
  from: number;
  to: number;
  resolution: Tier;
  bucket_s: number | null;
  points: Record<string, PointSeries>;
}

const RELATIVE = /^-(\d+(?:\.\d+)?)(s|m|h|d)?$/;
const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Parses `from`/`to`: epoch seconds, a negative offset from now (seconds or with s/m/h/d), or `now`. */
export function parseTime(name: string, raw: string, nowS: number): number {
  const s = raw.trim();
  if (s === 'now') return nowS;
  const rel = RELATIVE.exec(s);
  if (rel) return nowS - Number(rel[1]) * UNIT_S[rel[2] ?? 's']!;
  const n = s === '' ? Number.NaN : Number(s);
  if (Number.isFinite(n) && n >= 0) return n;
  throw new GatewayError('invalid_request', `${name} must be seconds since the epoch (e.g. ${Math.floor(nowS)}), "now", or back from now (-300, -90m, -24h, -7d), got ${JSON.stringify(raw.slice(0, 40))}`);
}

export function keptPoints(points: PointMap): string[] {
  return Object.keys(points).filter((p) => isKept(points[p]!));
}

export function parseStoreQuery(deviceId: string, params: URLSearchParams, points: PointMap, nowS: number): StoreQuery {
  const kept = keptPoints(points);
  const list = params.get('points') ?? params.get('point');
  let names = kept;
  if (list !== null) {
    names = list.split(',').map((s) => s.trim());
    if (names.some((n) => n === '')) throw new GatewayError('invalid_request', 'points must name one point or a comma-separated list, e.g. points=speed,current');
    for (const name of names) {
      if (!Object.hasOwn(points, name) || !isKept(points[name]!)) {
        throw new GatewayError('validation_error', `${deviceId}.${name.slice(0, 64)}: ${Object.hasOwn(points, name) ? `a ${points[name]!.type} point has no history` : 'unknown point'}; points with history: ${kept.join(', ') || 'none'}`, {
          details: { point: name.slice(0, 64), rule: Object.hasOwn(points, name) ? 'not_kept' : 'unknown_point' },
        });
      }
    }
  }
  const fromS = parseTime('from', params.get('from') ?? params.get('since') ?? '-1h', nowS);
  const toS = parseTime('to', params.get('to') ?? 'now', nowS);
  if (!(toS > fromS)) throw new GatewayError('invalid_request', `to (${toS}) must be after from (${fromS})`);
  const res = params.get('resolution');
  let resolution: Tier | undefined;
  if (res !== null && res !== 'auto') {
    if (res !== 'raw' && res !== '1m' && res !== '1h') throw new GatewayError('invalid_request', `resolution must be raw, 1m, 1h or auto, got ${JSON.stringify(res.slice(0, 20))}`);
    resolution = res;
  }
  const mp = params.get('max_points');
  let maxPoints = DEFAULT_MAX_POINTS;
  if (mp !== null) {
    maxPoints = Number(mp);
    if (!Number.isInteger(maxPoints) || maxPoints < 1 || maxPoints > MAX_POINTS_LIMIT) {
      throw new GatewayError('invalid_request', `max_points must be a whole number from 1 to ${MAX_POINTS_LIMIT}, got ${JSON.stringify(mp.slice(0, 20))}`);
    }
    if (resolution !== undefined) throw new GatewayError('invalid_request', 'give resolution or max_points, not both');
  }
  return { fromMs: fromS * 1000, toMs: toS * 1000, points: names, resolution, maxPoints };
}

const TIER_MS: Record<Tier, number> = { raw: 1, '1m': MINUTE_MS, '1h': HOUR_MS };

/** The tier for `max_points`: coarse enough for the buckets, and one that still reaches back to `from`. */
function pickTier(store: HistoryStore, q: StoreQuery): { tier: Tier; bucketMs: number } {
  const wanted = Math.ceil((q.toMs - q.fromMs) / q.maxPoints);
  let tier: Tier = wanted >= HOUR_MS ? '1h' : wanted >= MINUTE_MS ? '1m' : 'raw';
  const order: Tier[] = ['raw', '1m', '1h'];
  for (let i = order.indexOf(tier); i < order.length - 1; i++) {
    const oldest = store.oldest(order[i]!);
    const coarser = store.oldest(order[i + 1]!);
    if (oldest !== null && oldest <= q.fromMs) break;
    if (coarser === null || (oldest !== null && coarser >= oldest)) break;
    tier = order[i + 1]!;
  }
  // Buckets of whole seconds (raw tier) or whole tier buckets: round numbers on a time axis.
  const step = tier === 'raw' ? 1000 : TIER_MS[tier];
  return { tier, bucketMs: Math.max(step, Math.ceil(wanted / step) * step) };
}

export function runStoreQuery(store: HistoryStore, deviceId: string, points: PointMap, q: StoreQuery, limits: HistoryLimits): StoreAnswer {
  let tier: Tier;
  let bucketMs: number | null;
  if (q.resolution !== undefined) {
    tier = q.resolution;
    bucketMs = tier === 'raw' ? null : TIER_MS[tier];
  } else {
    ({ tier, bucketMs } = pickTier(store, q));
  }
  if (tier === 'raw' && q.toMs - q.fromMs > limits.maxRawSpanMs) {
    throw new GatewayError('history_limit', `raw samples may span at most ${limits.maxRawSpanMs / 3_600_000} h per request (history.store.max_raw_span_h); ask for resolution 1m or 1h, or max_points`);
  }
  const records = store.read(tier, deviceId, q.points, q.fromMs, q.toMs);
  const out: Record<string, PointSeries> = {};
  let rows = 0;
  let resolution = tier;
  // A raw range with few enough samples is answered sample for sample.
  const rawFits = tier === 'raw' && [...records.values()].every((r) => r.raw.length <= q.maxPoints);
  if (tier === 'raw' && (q.resolution === 'raw' || rawFits)) bucketMs = null;
  for (const name of q.points) {
    const unit = points[name]!.unit ?? null;
    const rec = records.get(name)!;
    let series: PointSeries;
    if (bucketMs === null) {
      series = { unit, t: rec.raw.map((s) => s.t / 1000), v: rec.raw.map((s) => s.v) };
      if (rec.raw.some((s) => s.q !== 0)) series.q = rec.raw.map((s) => QUALITY_CODES[s.q]!);
    } else {
      const buckets = new Map<number, Aggregate>();
      const bucket = (t: number) => {
        const k = bucketStart(t, bucketMs!);
        let b = buckets.get(k);
        if (b === undefined) buckets.set(k, (b = emptyBucket(k)));
        return b;
      };
      for (const s of rec.raw) addSample(bucket(s.t), s);
      for (const a of rec.agg) mergeBucket(bucket(a.t), a);
      const list = [...buckets.values()].sort((a, b) => a.t - b.t);
      series = {
        unit,
        t: list.map((b) => b.t / 1000),
        v: list.map((b) => (b.count > 0 ? b.sum / b.count : null)),
        min: list.map((b) => (b.count > 0 ? b.min : null)),
        max: list.map((b) => (b.count > 0 ? b.max : null)),
        n: list.map((b) => b.count),
      };
      if (list.some((b) => b.q !== 0)) series.q = list.map((b) => QUALITY_CODES[b.q]!);
    }
    rows += series.t.length;
    if (rows > limits.maxRows) {
      throw new GatewayError('history_limit', `the answer would hold more than ${limits.maxRows} rows (history.store.max_rows); narrow from/to, name fewer points or lower max_points`);
    }
    out[name] = series;
  }
  if (tier === 'raw' && bucketMs !== null) resolution = 'raw';
  return { from: q.fromMs / 1000, to: q.toMs / 1000, resolution, bucket_s: bucketMs === null ? null : bucketMs / 1000, points: out };
}

/** One row per point and time: a spreadsheet opens it as it is. */
export function toCsv(deviceId: string, points: Record<string, { unit: string | null; t: number[]; v: (number | null)[]; min?: (number | null)[]; max?: (number | null)[]; n?: number[]; q?: Quality[] }>): string {
  const lines = ['time,epoch_s,device,point,unit,value,min,max,count,quality'];
  const cell = (x: number | null | undefined) => (x === null || x === undefined ? '' : String(x));
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  for (const [name, s] of Object.entries(points)) {
    for (let i = 0; i < s.t.length; i++) {
      const t = s.t[i]!;
      lines.push(
        [isoTime(t * 1000), String(t), quote(deviceId), quote(name), quote(s.unit ?? ''), cell(s.v[i]), cell(s.min?.[i]), cell(s.max?.[i]), cell(s.n?.[i]), s.q?.[i] ?? 'good'].join(','),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
