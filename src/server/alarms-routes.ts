/**
 * The alarm API:
 *   GET  /api/v1/alarms                      alarms that are not normal (?device, ?priority, ?state, ?all=1)
 *   GET  /api/v1/alarms/events               the journal, newest first (?from, ?to, ?before, ?alarm, ?device, ?limit)
 *   POST /api/v1/alarms/ack                  {"ids": [...]} or {"all": true, "device"?, "priority"?}
 *   POST /api/v1/alarms/{id}/ack | shelve {"for": "30m"} | unshelve          (role operator)
 *   POST /api/v1/alarms/{id}/out_of_service | return_to_service              (role admin)
 * Operator actions take the same roles, write rate limit and audit trail as a control write.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { GatewayError } from '../core/errors.js';
import type { AlarmAction, AlarmService } from '../alarms/service.js';
import type { AlarmFilter } from '../alarms/table.js';
import { ALARM_PRIORITIES, ALARM_STATES, compareAlarms, isUnacked, type AlarmActionReply, type AlarmEventsReply, type AlarmListReply, type AlarmPriority, type AlarmView } from '../protocol/alarms.js';
import { parseDuration } from '../alarms/duration.js';
import type { Permission } from './auth.js';
import type { ServerContext } from './context.js';
import { postRoute } from './post-route.js';
import { parseJson, sendError, sendJson, startReply, pathParam } from './http.js';

export const ALARMS_PATH = '/api/v1/alarms';
const MAX_EVENTS_PAGE = 1000;
const MAX_COMMENT = 200;

/** What each action needs: shelving is an operator's call, taking an alarm out of service an administrator's. */
const ACTION_PERMISSION: Record<AlarmAction, Permission> = {
  ack: 'control',
  shelve: 'control',
  unshelve: 'control',
  out_of_service: 'admin',
  return_to_service: 'admin',
};

export function registerAlarmRoutes(app: TemplatedApp, ctx: ServerContext, alarms: AlarmService): void {
  const internal = (err: unknown) => ctx.log.error({ err }, 'alarm request failed');

  app.get(ALARMS_PATH, (res, req) => {
    const reply = startReply(res);
    if (ctx.security.rest(req, reply, 'read') === undefined) return;
    try {
      const filter = parseFilter(req.getQuery() ?? '', ['device', 'priority', 'state', 'all']);
      sendJson(reply, 200, listReply(alarms, filter));
    } catch (err) {
      sendError(reply, err, internal);
    }
  });

  app.get(`${ALARMS_PATH}/events`, (res, req) => {
    const reply = startReply(res);
    if (ctx.security.rest(req, reply, 'read') === undefined) return;
    const query = req.getQuery() ?? '';
    void (async () => {
      try {
        const q = parseEventsQuery(query);
        const { events, more } = await alarms.journal.read(q);
        const body: AlarmEventsReply = { events, count: events.length, next_before: more ? events.at(-1)!.seq : null };
        sendJson(reply, 200, body);
      } catch (err) {
        sendError(reply, err, internal);
      }
    })();
  });

  app.get(`${ALARMS_PATH}/:id`, (res, req) => {
    const reply = startReply(res);
    if (ctx.security.rest(req, reply, 'read') === undefined) return;
    const id = pathParam(req);
    const view = alarms.table.view(id);
    if (view === undefined) sendError(reply, new GatewayError('alarm_not_found', `no alarm ${JSON.stringify(id.slice(0, 140))}; GET /api/v1/alarms?all=1 lists every configured alarm`));
    else sendJson(reply, 200, view);
  });

  // JSON only, one Content-Length: a form post from another site cannot acknowledge alarms.
  postRoute(app, ctx, `${ALARMS_PATH}/ack`, { permission: 'control', onInternal: internal }, async ({ who, reply, body: raw }) => {
    const body = asObject(parseJson(raw), '{"ids": ["motor_01.current.hi"]} or {"all": true}');
    const requester = { token: who.name, remote: reply.remote };
    const comment = parseComment(body['comment']);
    const out: AlarmActionReply = { alarms: [], changed: 0, unchanged: [] };
    if (body['all'] === true) {
      if (body['ids'] !== undefined) throw new GatewayError('invalid_request', 'give either "ids" or "all": true, not both');
      const filter = parseFilter(new URLSearchParams(stringFields(body, ['device', 'priority', 'state'])).toString(), ['device', 'priority', 'state']);
      out.alarms = await alarms.ackAll(filter, requester, comment);
    } else {
      const ids = body['ids'];
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > 1000 || !ids.every((i) => typeof i === 'string')) {
        throw new GatewayError('invalid_request', '"ids" must be a list of 1-1000 alarm ids, e.g. {"ids": ["motor_01.current.hi"]}; or send {"all": true}');
      }
      for (const id of ids as string[]) {
        if (!alarms.table.has(id)) throw new GatewayError('alarm_not_found', `no alarm ${JSON.stringify(id.slice(0, 140))}; nothing was acknowledged`);
      }
      for (const id of ids as string[]) {
        const view = alarms.table.view(id)!;
        if (!isUnacked(view)) out.unchanged.push({ id, reason: `it is ${view.state.replace(/_/g, ' ')}` });
        else out.alarms.push(await alarms.act('ack', id, requester, { comment }));
      }
    }
    out.changed = out.alarms.length;
    sendJson(reply, 200, out);
  });

  for (const action of Object.keys(ACTION_PERMISSION) as AlarmAction[]) {
    postRoute(app, ctx, `${ALARMS_PATH}/:id/${action}`, { permission: ACTION_PERMISSION[action], onInternal: internal }, async ({ who, reply, param: id, body: raw }) => {
      const body = raw.byteLength === 0 ? {} : asObject(parseJson(raw), action === 'shelve' ? '{"for": "30m"}' : '{"comment": "..."}');
      let forS: number | undefined;
      if (action === 'shelve') {
        const f = body['for'];
        forS = typeof f === 'string' || typeof f === 'number' ? parseDuration(f) : undefined;
        if (forS === undefined) throw new GatewayError('invalid_request', '"for" must be a duration such as "30m", "2h", "1h30m" or a number of seconds');
      }
      const view = await alarms.act(action, id, { token: who.name, remote: reply.remote }, { ...(forS === undefined ? {} : { forS }), comment: parseComment(body['comment']) });
      const out: AlarmActionReply = { alarms: [view], changed: 1, unchanged: [] };
      sendJson(reply, 200, out);
    });
  }

  app.any(ALARMS_PATH, wrongMethod('GET'));
  app.any(`${ALARMS_PATH}/events`, wrongMethod('GET'));
}

export function listReply(alarms: AlarmService, filter: AlarmFilter): AlarmListReply {
  const list = alarms.list(filter).sort(compareAlarms);
  const counts = Object.fromEntries(ALARM_PRIORITIES.map((p) => [p, 0])) as Record<AlarmPriority, number>;
  let unacked = 0;
  for (const a of list) {
    if (a.state === 'normal' || a.state === 'shelved' || a.state === 'out_of_service') continue;
    counts[a.priority]++;
    if (isUnacked(a)) unacked++;
  }
  return { alarms: list, count: list.length, seq: alarms.table.seq, counts, unacked };
}

function wrongMethod(allowed: string) {
  return (res: HttpResponse, req: HttpRequest) => {
    const method = req.getMethod().toUpperCase();
    sendJson(startReply(res), 405, { error_code: 'method_not_allowed', message: `${method} is not allowed here; use ${allowed}` }, { Allow: allowed });
  };
}


function asObject(body: unknown, example: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GatewayError('invalid_request', `the body must be a JSON object, e.g. ${example}`);
  return body as Record<string, unknown>;
}

function stringFields(body: Record<string, unknown>, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = body[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new GatewayError('invalid_request', `"${k}" must be a string`);
    out[k] = v;
  }
  return out;
}

/** An operator's comment on an alarm action (REST and MQTT alike). */
export function parseComment(c: unknown): string | null {
  if (c === undefined || c === null) return null;
  if (typeof c !== 'string' || c.length > MAX_COMMENT) throw new GatewayError('invalid_request', `"comment" must be a string of at most ${MAX_COMMENT} characters`);
  return c === '' ? null : c;
}

export function parseFilter(query: string, known: string[]): AlarmFilter {
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (!known.includes(key)) throw new GatewayError('invalid_request', `unknown query parameter ${JSON.stringify(key.slice(0, 40))}; use ${known.join(', ')}`);
  }
  const priority = params.get('priority') ?? undefined;
  for (const p of priority?.split(',') ?? []) {
    if (!(ALARM_PRIORITIES as readonly string[]).includes(p)) throw new GatewayError('invalid_request', `priority ${JSON.stringify(p.slice(0, 40))} is not one of ${ALARM_PRIORITIES.join(', ')}`);
  }
  const state = params.get('state') ?? undefined;
  for (const s of state?.split(',') ?? []) {
    if (!(ALARM_STATES as readonly string[]).includes(s)) throw new GatewayError('invalid_request', `state ${JSON.stringify(s.slice(0, 40))} is not one of ${ALARM_STATES.join(', ')}`);
  }
  const all = params.get('all');
  if (all !== null && all !== '1' && all !== 'true' && all !== '0' && all !== 'false') throw new GatewayError('invalid_request', 'all must be 1 or 0');
  return { device: params.get('device') ?? undefined, priority, state, all: all === '1' || all === 'true' || state?.split(',').includes('normal') };
}

function parseEventsQuery(query: string): { from?: number; to?: number; before?: number; alarm?: string; device?: string; limit: number } {
  const params = new URLSearchParams(query);
  const known = ['from', 'to', 'before', 'alarm', 'device', 'limit'];
  for (const key of params.keys()) {
    if (!known.includes(key)) throw new GatewayError('invalid_request', `unknown query parameter ${JSON.stringify(key.slice(0, 40))}; use ${known.join(', ')}`);
  }
  const nowS = Date.now() / 1000;
  const num = (name: string, rule: string, relative: boolean): number | undefined => {
    const raw = params.get(name);
    if (raw === null) return undefined;
    const n = raw.trim() === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(n)) throw new GatewayError('invalid_request', `${name} must be ${rule}, got ${JSON.stringify(raw.slice(0, 40))}`);
    return relative && n < 0 ? nowS + n : n;
  };
  const timeRule = 'seconds since the epoch or negative seconds back from now (e.g. -3600)';
  const limit = num('limit', `a whole number 1-${MAX_EVENTS_PAGE}`, false) ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS_PAGE) throw new GatewayError('invalid_request', `limit must be a whole number 1-${MAX_EVENTS_PAGE}`);
  const before = num('before', 'a seq (next_before of the previous page)', false);
  if (before !== undefined && !Number.isInteger(before)) throw new GatewayError('invalid_request', 'before must be a seq (next_before of the previous page)');
  const out: { from?: number; to?: number; before?: number; alarm?: string; device?: string; limit: number } = { limit };
  const from = num('from', timeRule, true);
  const to = num('to', timeRule, true);
  if (from !== undefined) out.from = from;
  if (to !== undefined) out.to = to;
  if (before !== undefined) out.before = before;
  const alarm = params.get('alarm');
  const device = params.get('device');
  if (alarm !== null) out.alarm = alarm;
  if (device !== null) out.device = device;
  return out;
}

export type { AlarmView };
