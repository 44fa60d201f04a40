/**
 * REST routes of PROTOCOL.md: read the registry, send control writes down, report health.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { GatewayError } from '../core/errors.js';
import type { ServerContext } from './context.js';
import { parseJson, sendError, sendJson, startReply, pathParam } from './http.js';
import { parseDeviceListQuery, showsQuality } from './device-filter.js';
import { deviceView } from './protocol.js';
import { postRoute } from './post-route.js';


export function registerRest(app: TemplatedApp, ctx: ServerContext): void {
  const { registry, control, log, stats } = ctx;
  const internal = (err: unknown) => log.error({ err }, 'request failed');

  app.get('/api/v1/devices', (res, req) => {
    const reply = startReply(res);
    if (ctx.security.rest(req, reply, 'read') === undefined) return;
    let wanted;
    try {
      wanted = parseDeviceListQuery(req.getQuery() ?? '');
    } catch (err) {
      sendError(reply, err, internal);
      return;
    }
    const devices = registry
      .list()
      .filter((s) => wanted === undefined || showsQuality(s, wanted))
      .map(deviceView);
    sendJson(reply, 200, { devices, count: devices.length });
  });

  app.get('/api/v1/devices/:id', (res, req) => {
    const reply = startReply(res);
    if (ctx.security.rest(req, reply, 'read') === undefined) return;
    const id = pathParam(req);
    const snap = registry.snapshot(id);
    if (snap === undefined) sendError(reply, new GatewayError('device_not_found', `Device ${id} not found`));
    else sendJson(reply, 200, deviceView(snap));
  });

  postRoute(app, ctx, '/api/v1/devices/:id', { permission: 'control', onInternal: internal }, async ({ who, reply, param: id, body }) => {
    if (!registry.has(id)) throw new GatewayError('device_not_found', `Device ${id} not found`);
    const ready = ctx.readiness();
    if (!ready.ready) throw new GatewayError('not_ready', `the gateway is not ready: ${ready.reason ?? 'starting'}`);
    const values = parseJson(body);
    const result = await control.write(id, values, { token: who.name, remote: reply.remote });
    sendJson(reply, 200, result);
  });

  app.get('/healthz', (res) => {
    const reply = startReply(res);
    sendJson(reply, 200, { status: 'ok', uptime_s: Math.round(process.uptime()) });
  });

  app.get('/readyz', (res) => {
    const reply = startReply(res);
    const r = ctx.readiness();
    const down = r.linksDown ?? [];
    const consumers = r.consumersDown ?? [];
    if (!r.ready) sendJson(reply, 503, { error_code: 'not_ready', message: r.reason ?? 'starting' });
    else if (r.auditProblem !== undefined) {
      sendJson(reply, 503, { error_code: 'audit_unavailable', message: `control writes are refused: ${r.auditProblem}` });
    }
    else if (down.length > 0 || consumers.length > 0) {
      const why = [...(down.length > 0 ? [`field link down: ${down.join(', ')}`] : []), ...consumers.map((c) => `${c.name}: ${c.reason}`)];
      sendJson(reply, 503, { error_code: 'not_ready', message: why.join('; '), links_down: down, ...(consumers.length > 0 ? { consumers_down: consumers } : {}) });
    } else sendJson(reply, 200, { status: 'ready', devices: registry.size });
  });

  // Known paths with the wrong method, and everything else under /api: coded errors, not HTML.
  const wrongMethod = (allowed: string) => (res: HttpResponse, req: HttpRequest) => {
    const method = req.getMethod().toUpperCase();
    const reply = startReply(res);
    sendJson(reply, 405, { error_code: 'method_not_allowed', message: `${method} is not allowed here; use ${allowed}` }, { Allow: allowed });
  };
  app.any('/api/v1/devices', wrongMethod('GET'));
  app.any('/api/v1/devices/:id', wrongMethod('GET, POST'));
  app.any('/api/*', (res, req) => {
    const url = req.getUrl();
    const reply = startReply(res);
    sendJson(reply, 404, { error_code: 'not_found', message: `no such path: ${url.slice(0, 200)}` });
  });
}
