/**
 * `GET /api/v1/devices/{id}/history?point=speed,current&since=...`: the recent samples of
 * numeric points, for trends, from the in-memory window; with `from`, `to`, `resolution` or
 * `max_points` the same route answers from the history store (src/historian/query.ts).
 * `format=csv` or `Accept: text/csv` gives either answer as CSV.
 *
 * `point` names one point or a comma-separated list; without it every numeric point of the
 * device is returned. `since` is seconds since the epoch (as every API timestamp), or a
 * negative number of seconds back from the gateway's clock (`since=-300`), which spares a
 * client whose clock is off from having to know the gateway's time.
 *
 * Samples are columns (`t` seconds since the epoch, `v` values), oldest first. A point keeps a
 * sample only when its value changes: its value holds until the next sample.
 */
import type { HttpRequest, TemplatedApp } from 'uWebSockets.js';
import { GatewayError } from '../core/errors.js';
import type { History } from '../core/history.js';
import type { Historian } from '../historian/historian.js';
import { parseStoreQuery, runStoreQuery, toCsv } from '../historian/query.js';
import type { PointMap } from '../core/points.js';
import type { ServerContext } from './context.js';
import { sendError, sendJson, sendText, startReply } from './http.js';

export const HISTORY_PATH = '/api/v1/devices/:id/history';
const KNOWN_PARAMS = ['point', 'points', 'since', 'from', 'to', 'resolution', 'max_points', 'format'];
/** Parameters that ask for the store rather than the newest in-memory window. */
const STORE_PARAMS = ['from', 'to', 'resolution', 'max_points'];

export interface HistoryQuery {
  points: string[];
  /** Seconds since the epoch, or undefined for the whole window. */
  since: number | undefined;
}

/** Parses and checks the query against the device's points; throws coded errors. */
export function parseHistoryQuery(deviceId: string, query: string, points: PointMap, nowS: number): HistoryQuery {
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (!KNOWN_PARAMS.includes(key)) {
      throw new GatewayError('invalid_request', `unknown query parameter ${JSON.stringify(key.slice(0, 40))}; use ${KNOWN_PARAMS.join(', ')}`);
    }
  }
  const numeric = Object.keys(points).filter((p) => isNumeric(points, p));
  const pointParam = params.get('point') ?? params.get('points');
  let names: string[];
  if (pointParam === null) {
    names = numeric;
  } else {
    names = pointParam.split(',').map((s) => s.trim());
    if (names.some((n) => n === '')) throw new GatewayError('invalid_request', 'point must name one point or a comma-separated list, e.g. point=speed,current');
    for (const name of names) {
      if (!Object.hasOwn(points, name)) {
        throw new GatewayError('validation_error', `${deviceId}.${name.slice(0, 64)}: unknown point; numeric points: ${numeric.join(', ') || 'none'}`, {
          details: { point: name.slice(0, 64), rule: 'unknown_point' },
        });
      }
      if (!isNumeric(points, name)) {
        throw new GatewayError('validation_error', `${deviceId}.${name}: a ${points[name]!.type} point has no history; numeric points: ${numeric.join(', ') || 'none'}`, {
          details: { point: name, rule: 'not_numeric' },
        });
      }
    }
  }
  const sinceParam = params.get('since');
  let since: number | undefined;
  if (sinceParam !== null) {
    const n = sinceParam.trim() === '' ? Number.NaN : Number(sinceParam);
    if (!Number.isFinite(n)) {
      throw new GatewayError(
        'invalid_request',
        `since must be seconds since the epoch (e.g. ${Math.floor(nowS)}.5) or negative seconds back from now (e.g. -300), got ${JSON.stringify(sinceParam.slice(0, 40))}`,
      );
    }
    since = n < 0 ? nowS + n : n;
  }
  return { points: names, since };
}

function isNumeric(points: PointMap, name: string): boolean {
  const t = points[name]?.type;
  return t === 'number' || t === 'integer';
}

function wantsCsv(params: URLSearchParams, accept: string): boolean {
  const format = params.get('format');
  if (format !== null && format !== 'csv' && format !== 'json') throw new GatewayError('invalid_request', `format must be json or csv, got ${JSON.stringify(format.slice(0, 20))}`);
  return format === 'csv' || (format === null && /\btext\/csv\b/.test(accept));
}

export function registerHistory(app: TemplatedApp, ctx: ServerContext, history: History, historian?: Historian): void {
  const { registry, stats } = ctx;
  app.get(HISTORY_PATH, (res, req: HttpRequest) => {
    stats.httpRequests++;
    const reply = startReply(res);
    if (ctx.security.rest(req, reply, 'read') === undefined) return;
    let id = req.getParameter(0) ?? '';
    try {
      id = decodeURIComponent(id);
    } catch {
      // keep the raw id: the lookup below reports it as not found
    }
    const query = req.getQuery() ?? '';
    const accept = req.getHeader('accept');
    try {
      const desc = registry.descriptor(id);
      if (desc === undefined) throw new GatewayError('device_not_found', `Device ${id} not found`);
      const nowS = Date.now() / 1000;
      const params = new URLSearchParams(query);
      const csv = wantsCsv(params, accept);
      if (STORE_PARAMS.some((k) => params.has(k))) {
        for (const key of params.keys()) {
          if (!KNOWN_PARAMS.includes(key)) throw new GatewayError('invalid_request', `unknown query parameter ${JSON.stringify(key.slice(0, 40))}; use ${KNOWN_PARAMS.join(', ')}`);
        }
        if (historian === undefined) throw new GatewayError('invalid_request', 'history.store is disabled: only the newest window is kept (use point and since)');
        const sq = parseStoreQuery(id, params, desc.points, nowS);
        const c = historian.config;
        const answer = runStoreQuery(historian.store, id, desc.points, sq, { maxRows: c.max_rows, maxRawSpanMs: c.max_raw_span_h * 3_600_000 });
        if (csv) sendText(reply, 200, 'text/csv; charset=utf-8', toCsv(id, answer.points));
        else sendJson(reply, 200, { device_id: id, now: nowS, source: 'store', ...answer });
        return;
      }
      params.delete('format');
      const q = parseHistoryQuery(id, params.toString(), desc.points, nowS);
      const points: Record<string, { unit: string | null; t: number[]; v: number[] }> = {};
      for (const name of q.points) {
        points[name] = { unit: desc.points[name]!.unit ?? null, ...history.read(id, name, q.since) };
      }
      if (csv) {
        sendText(reply, 200, 'text/csv; charset=utf-8', toCsv(id, points));
        return;
      }
      sendJson(reply, 200, {
        device_id: id,
        now: nowS,
        since: q.since ?? nowS - history.windowS,
        window_s: history.windowS,
        resolution_ms: history.resolutionMs,
        points,
      });
    } catch (err) {
      sendError(reply, err, (e) => ctx.log.error({ err: e }, 'history request failed'));
    }
  });
}
