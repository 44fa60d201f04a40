/**
 * `GET /api/v1/devices/{id}/audit?limit=20`: the newest entries of the audit trail for one
 * device (control writes and alarm actions), newest first, for the HMI's device page.
 *
 * The trail says who did what from where, so it is for the roles that act on the plant:
 * operator and admin. A viewer gets 403 `forbidden` (it reads values, not who changed them).
 *
 * The file is read backwards from its end in blocks, so the newest entries cost the same
 * however long the trail has grown (logrotate keeps it under about 10 MiB). Only the current
 * file is read: entries rotated away are for `mgw audit --file`.
 */
import { open } from 'node:fs/promises';
import type { HttpRequest, TemplatedApp } from 'uWebSockets.js';
import { GatewayError } from '../core/errors.js';
import type { AuditLine } from '../platform/audit.js';
import type { DeviceAuditEntry, DeviceAuditReply } from '../protocol/audit.js';
import type { ServerContext } from './context.js';
import { roleAllows, roleNeeded } from './auth.js';
import { sendError, sendJson, startReply, pathParam } from './http.js';

export const AUDIT_PATH = '/api/v1/devices/:id/audit';
export const AUDIT_DEFAULT_LIMIT = 20;
export const AUDIT_MAX_LIMIT = 200;
const BLOCK_BYTES = 64 * 1024;

export type { DeviceAuditEntry, DeviceAuditReply };

/** `limit` from the query; throws invalid_request naming the parameter. */
export function parseAuditQuery(query: string): { limit: number } {
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (key !== 'limit') throw new GatewayError('invalid_request', `unknown query parameter ${JSON.stringify(key.slice(0, 40))}; use limit`);
  }
  const raw = params.get('limit');
  if (raw === null) return { limit: AUDIT_DEFAULT_LIMIT };
  const n = /^\d{1,6}$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > AUDIT_MAX_LIMIT) {
    throw new GatewayError('invalid_request', `limit must be a whole number from 1 to ${AUDIT_MAX_LIMIT}, got ${JSON.stringify(raw.slice(0, 20))}`);
  }
  return { limit: n };
}

/**
 * The newest `limit` entries of `deviceId` in the trail at `file`, newest first. A missing file
 * is an empty trail (no write yet); a line that is not JSON (torn by a power cut) is skipped.
 */
export async function readDeviceAudit(file: string, deviceId: string, limit: number): Promise<DeviceAuditEntry[]> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw unreadable(file, err);
  }
  try {
    const { size } = await fh.stat();
    const out: DeviceAuditEntry[] = [];
    // The device's id as it appears in a record: a cheap test before parsing a line.
    const needle = `"device":${JSON.stringify(deviceId)}`;
    let end = size;
    let carry = Buffer.alloc(0);
    while (end > 0 && out.length < limit) {
      const start = Math.max(0, end - BLOCK_BYTES);
      const block = Buffer.alloc(end - start);
      await fh.read(block, 0, block.length, start);
      const buf = Buffer.concat([block, carry]);
      end = start;
      // Before the first newline may be the tail of a line that starts in an earlier block.
      let from = 0;
      if (start > 0) {
        const nl = buf.indexOf(0x0a);
        if (nl === -1) {
          carry = buf;
          continue;
        }
        carry = buf.subarray(0, nl);
        from = nl + 1;
      }
      const lines = buf.subarray(from).toString('utf8').split('\n');
      for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
        const line = lines[i]!;
        if (!line.includes(needle)) continue;
        const entry = toEntry(line, deviceId);
        if (entry !== undefined) out.push(entry);
      }
    }
    return out;
  } catch (err) {
    throw unreadable(file, err);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function toEntry(line: string, deviceId: string): DeviceAuditEntry | undefined {
  let rec: AuditLine;
  try {
    rec = JSON.parse(line) as AuditLine;
  } catch {
    return undefined;
  }
  if (rec.action === 'reload' || rec.device !== deviceId) return undefined;
  // A technician's raw send on the device's port (`mgw line send` through the gateway): what was sent and answered.
  if (rec.action === 'line_send') {
    return {
      time: rec.time,
      kind: 'control',
      token: rec.token,
      remote: rec.remote ?? null,
      previous: {},
      requested: { line: rec.sent },
      outcome: rec.outcome,
      ...(rec.answer === undefined ? {} : { new_state: { answer: rec.answer } }),
      ...(rec.error_code === undefined ? {} : { error_code: rec.error_code }),
      ...(rec.message === undefined ? {} : { message: rec.message }),
    };
  }
  // A raw Modbus write to the device's unit (`mgw modbus write` through the gateway) reads as a
  // control write of its registers, by register number.
  const newState = rec.action === 'modbus_write' ? undefined : rec.new_state;
  const kind = Object.hasOwn(rec.requested ?? {}, 'alarm_action') ? 'alarm' : 'control';
  return {
    time: rec.time,
    kind,
    token: rec.token,
    remote: rec.remote ?? null,
    previous: rec.previous ?? {},
    requested: rec.requested ?? {},
    outcome: rec.outcome,
    ...(newState === undefined ? {} : { new_state: newState }),
    ...(rec.error_code === undefined ? {} : { error_code: rec.error_code }),
    ...(rec.message === undefined ? {} : { message: rec.message }),
  };
}

function unreadable(file: string, err: unknown): GatewayError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return new GatewayError('audit_unavailable', `the audit trail ${file} cannot be read (${code})`, { cause: err });
}

/** Registers the route; `file` names the current audit file (it may be rotated away and back). */
export function registerAudit(app: TemplatedApp, ctx: ServerContext, file: () => string): void {
  const { registry } = ctx;
  app.get(AUDIT_PATH, (res, req: HttpRequest) => {
    const reply = startReply(res);
    const who = ctx.security.rest(req, reply, 'read');
    if (who === undefined) return;
    const id = pathParam(req);
    const query = req.getQuery() ?? '';
    void (async () => {
      try {
        // Who changed what is for the roles that change things (README: tokens and roles).
        if (!roleAllows(who.role, 'control')) {
          throw new GatewayError('forbidden', `token "${who.name}" has role ${who.role}; the audit trail needs role ${roleNeeded('control')} or higher`);
        }
        const { limit } = parseAuditQuery(query);
        if (!registry.has(id)) throw new GatewayError('device_not_found', `Device ${id} not found`);
        const entries = await readDeviceAudit(file(), id, limit);
        const body: DeviceAuditReply = { device_id: id, entries, limit };
        sendJson(reply, 200, body);
      } catch (err) {
        if (err instanceof GatewayError && err.code === 'audit_unavailable') ctx.log.warn({ err: err.cause }, err.message);
        sendError(reply, err, (e) => ctx.log.error({ err: e }, 'audit request failed'));
      }
    })();
  });
}
