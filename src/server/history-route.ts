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
 *
 * `GET /api/v1/history?devices=a,b,c&since=-300` is the batch form: the same in-memory window of
 * every numeric point of many devices in one answer (`devices: {a: {points}, ...}`), so a page
 * showing a hundred devices asks once instead of a hundred times, and after a reconnect asks for
 * the missing span only (`since` = the last moment it has).
 */
import type { HttpRequest, TemplatedApp } from 'uWebSockets.js';
import { GatewayError } from '../core/errors.js';
import { DEVICE_ID_PATTERN } from '../protocol/names.js';
import type { History } from '../core/history.js';
import type { Historian } from '../historian/historian.js';
import { parseStoreQuery, runStoreQuery, toCsv } from '../historian/query.js';
import type { PointMap } from '../core/points.js';
import type { ServerContext } from './context.js';
import { sendError, sendJson, sendText, startReply, pathParam } from './http.js';

export const HISTORY_PATH = '/api/v1/devices/:id/history';
export const BATCH_HISTORY_PATH = '/api/v1/history';
/** Most devices one batch may name; a page with more asks in several batches. */
export const MAX_BATCH_DEVICES = 500;
const BATCH_PARAMS = ['devices', 'since'];
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

/** Parses the batch form's query: the device ids (checked against the registry) and `since`; throws coded errors. */
export function parseBatchQuery(query: string, known: (id: string) => boolean, nowS: number): { devices: string[]; since: number | undefined } {
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (BATCH_PARAMS.includes(key)) continue;
    const why = KNOWN_PARAMS.includes(key) ? ' (the batch form reads the newest window of every numeric point; for one device\'s points or the store use /api/v1/devices/{id}/history)' : '';
    throw new GatewayError('invalid_request', `unknown query parameter ${JSON.stringify(key.slice(0, 40))}${why}; the batch form takes ${BATCH_PARAMS.join(', ')}`);
  }
  if (params.getAll('devices').length > 1) throw new GatewayError('invalid_request', 'devices must be given once, as a comma-separated list, e.g. devices=motor_01,motor_02');
  const list = params.get('devices');
  if (list === null || list.trim() === '') throw new GatewayError('invalid_request', 'devices is required: a comma-separated list of device ids, e.g. devices=motor_01,motor_02');
  const devices = [...new Set(list.split(',').map((s) => s.trim()))];
  if (devices.length > MAX_BATCH_DEVICES) {
    throw new GatewayError('invalid_request', `devices names ${devices.length} devices; at most ${MAX_BATCH_DEVICES} per request: split the list`, {
      details: { field: 'devices', max: MAX_BATCH_DEVICES },
    });
  }
  for (const id of devices) {
    if (id === '') throw new GatewayError('invalid_request', 'devices has an empty entry: a comma-separated list of device ids, e.g. devices=motor_01,motor_02');
    if (!DEVICE_ID_PATTERN.test(id)) throw new GatewayError('invalid_request', `devices: ${JSON.stringify(id.slice(0, 64))} is not a device id`, { details: { field: 'devices', device_id: id.slice(0, 64) } });
    if (!known(id)) throw new GatewayError('device_not_found', `Device ${id} not found`, { details: { field: 'devices', device_id: id } });
  }
  params.delete('devices');
  // `since` reads as in the single form; no device is needed to check it.
  const { since } = parseHistoryQuery('', params.toString(), {}, nowS);
  return { devices, since };
}

type WindowPoints = Record<string, { unit: string | null; t: number[]; v: number[] }>;

export function registerHistory(app: TemplatedApp, ctx: ServerContext, history: History, historian?: Historian): void {
  const { registry } = ctx;
  /** The in-memory window of these points of one device, each with its unit. */
  const readWindow = (id: string, names: string[], metas: PointMap, since: number | undefined): WindowPoints => {
    const points: WindowPoints = {};
    for (const name of names) points[name] = { unit: metas[name]!.unit ?? null, ...history.read(id, name, since) };
    return points;
  };
  /** What every window reply says of the window itself. */
  const windowOf = (nowS: number, since: number | undefined) => ({ now: nowS, since: since ?? nowS - history.windowS, window_s: history.windowS, resolution_ms: history.resolutionMs });
  app.get(BATCH_HISTORY_PATH, (res, req: HttpRequest) => {
    const reply = startReply(res);
    if (ctx.security.rest(req, reply, 'read') === undefined) return;
    const query = req.getQuery() ?? '';
    try {
      const nowS = Date.now() / 1000;
      const q = parseBatchQuery(query, (id) => registry.has(id), nowS);
      const devices: Record<string, { points: WindowPoints }> = {};
      for (const id of q.devices) {
        const metas = registry.descriptor(id)!.points;
        const numeric = Object.keys(metas).filter((name) => isNumeric(metas, name));
        devices[id] = { points: readWindow(id, numeric, metas, q.since) };
      }
      sendJson(reply, 200, { ...windowOf(nowS, q.since), devices });
    } catch (err) {
      sendError(reply, err, (e) => ctx.log.error({ err: e }, 'history batch request failed'));
    }
  });
  app.get(HISTORY_PATH, (res, req: HttpRequest) => {
    const reply = startReply(res);
    if (ctx.security.rest(req, reply, 'read') === undefined) return;
    const id = pathParam(req);
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
      const points = readWindow(id, q.points, desc.points, q.since);
      if (csv) {
        sendText(reply, 200, 'text/csv; charset=utf-8', toCsv(id, points));
        return;
      }
      sendJson(reply, 200, { device_id: id, ...windowOf(nowS, q.since), points });
    } catch (err) {
      sendError(reply, err, (e) => ctx.log.error({ err: e }, 'history request failed'));
    }
  });
}
