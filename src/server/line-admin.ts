/**
 * `mgw line send` through the running gateway, when it holds the serial port:
 *
 *   GET  /api/v1/line                 the serial ports of line devices: path, link up, devices (role viewer)
 *   POST /api/v1/admin/line/send      {port, payload, lines?, timeout_ms?} -> {answer: [lines]}   (role admin)
 *
 * The port's scheduler sends the payload at background priority between the polls and answers
 * with the next `lines` lines received. Audited like a control write: whatever a technician
 * sends may change the device.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { GatewayError } from '../core/errors.js';
import type { LineSendRecord } from '../platform/audit.js';
import type { ServerContext } from './context.js';
import { postRoute } from './post-route.js';
import { parseJson, sendJson, startReply } from './http.js';
import { isoTime } from '../core/time.js';

export interface LinePortInfo {
  path: string;
  linkUp: boolean;
  devices: string[];
  send(payload: Buffer, lines: number, timeoutMs: number): Promise<string[]>;
}

export interface LineAdminOptions {
  ports: () => LinePortInfo[];
  audit: { readonly problem: string | undefined; append(rec: LineSendRecord): Promise<void> };
}

export function registerLineAdmin(app: TemplatedApp, ctx: ServerContext, o: LineAdminOptions): void {
  const internal = (err: unknown) => ctx.log.error({ err }, 'line send failed');

  app.get('/api/v1/line', (res, req) => {
    const reply = startReply(res);
    if (ctx.security.rest(req, reply, 'read') === undefined) return;
    sendJson(reply, 200, { ports: o.ports().map((p) => ({ path: p.path, link_up: p.linkUp, devices: p.devices })) });
  });

  postRoute(app, ctx, '/api/v1/admin/line/send', { permission: 'admin', what: 'sending lines through the gateway', onInternal: internal }, async ({ who, reply, body: raw }) => {
    const body = parseJson(raw) as Record<string, unknown> | null;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('body', 'expected a JSON object');
    const path = body['port'];
    const payload = body['payload'];
    if (typeof path !== 'string') throw invalid('port', 'expected the serial port path the gateway holds');
    if (typeof payload !== 'string' || payload.length === 0 || payload.length > 4096) throw invalid('payload', 'expected 1-4096 characters (with the line ending)');
    const lines = intField(body, 'lines', 0, 1000, 1);
    const timeoutMs = intField(body, 'timeout_ms', 10, 60_000, 1000);
    const port = o.ports().find((p) => p.path === path);
    if (port === undefined) throw new GatewayError('bus_not_found', `this gateway holds no serial port ${JSON.stringify(path)} for line devices (ports: ${o.ports().map((p) => p.path).join(', ') || 'none'})`);
    if (!port.linkUp) throw new GatewayError('bus_down', `${path} is not open right now; nothing was sent`);
    if (o.audit.problem !== undefined) throw new GatewayError('audit_unavailable', `${path}: send refused, the audit trail cannot be written (${o.audit.problem})`);
    const base = { time: isoTime(Date.now()), action: 'line_send' as const, token: who.name, remote: reply.remote, device: port.devices.join(','), port: path, sent: payload };
    let answer: string[];
    try {
      answer = await port.send(Buffer.from(payload, 'latin1'), lines, timeoutMs);
    } catch (err) {
      const e = err instanceof GatewayError ? err : new GatewayError('internal_error', 'send failed', { cause: err });
      await o.audit.append({ ...base, outcome: 'error', error_code: e.code, message: e.message }).catch(() => undefined);
      throw e;
    }
    try {
      await o.audit.append({ ...base, answer, outcome: 'ok' });
    } catch (err) {
      throw new GatewayError('audit_unavailable', `${path} got the line, but its audit record could not be stored: ${(err as Error).message}`, { cause: err });
    }
    sendJson(reply, 200, { port: path, answer });
  });
}

function invalid(field: string, why: string): GatewayError {
  return new GatewayError('invalid_request', `${field}: ${why}`, { details: { field } });
}

function intField(b: Record<string, unknown>, name: string, min: number, max: number, fallback: number): number {
  const v = b[name] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(name, `expected a whole number from ${min} to ${max}`);
  return v;
}
