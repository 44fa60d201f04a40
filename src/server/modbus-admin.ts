/**
 * Commissioning through the running gateway (`mgw modbus` while the daemon holds the line):
 *
 *   GET  /api/v1/modbus                        the Modbus buses: id, where (port or host:port), held, link up (role viewer)
 *   POST /api/v1/admin/modbus/{bus}/read       {unit, table, address, count, timeout_ms?, tries?} -> {values}
 *   POST /api/v1/admin/modbus/{bus}/write      {unit, table, address, type, byte_order?, word_order?, length?, values, function?}
 *   POST /api/v1/admin/modbus/{bus}/identify   {unit} -> FC43/14 objects
 *
 * The POSTs need role admin: they reach any unit and register, configured or not. The bus's
 * scheduler runs them at background priority between the polls (drivers/bus/scheduler.ts).
 * A write is audited like a control write: refused while the trail cannot be written, and
 * confirmed to the client only once its record is on disk.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { GatewayError } from '../core/errors.js';
import type { CommissioningBus, RawRead, RawTable, RawWrite } from '../core/commissioning.js';
import type { ModbusWriteRecord } from '../platform/audit.js';
import type { ServerContext } from './context.js';
import { postRoute } from './post-route.js';
import { parseJson, sendJson, startReply } from './http.js';
import { isoTime } from '../core/time.js';

/** A configured Modbus bus, and the gateway's hold on it. */
export interface ModbusBusInfo {
  id: string;
  kind: string;
  /** Serial device (rtu, ascii). */
  port?: string | undefined;
  /** TCP host and port (tcp, rtu_over_tcp). */
  host?: string | undefined;
  tcp_port?: number | undefined;
  /** The running bus, or undefined when no device uses it (the gateway never opens its line). */
  held: CommissioningBus | undefined;
}

export interface ModbusAdminOptions {
  buses: () => ModbusBusInfo[];
  /** The audit trail (src/platform/audit.ts). */
  audit: { readonly problem: string | undefined; append(rec: ModbusWriteRecord): Promise<void> };
}

const TABLES: readonly RawTable[] = ['holding', 'input', 'coil', 'discrete'];
const ORDERS = ['big', 'little'] as const;
const FUNCTIONS = ['single', 'multiple', 'read_write'] as const;

export function registerModbusAdmin(app: TemplatedApp, ctx: ServerContext, o: ModbusAdminOptions): void {
  const internal = (err: unknown) => ctx.log.error({ err }, 'modbus commissioning request failed');

  app.get('/api/v1/modbus', (res, req) => {
    const reply = startReply(res);
    if (ctx.security.rest(req, reply, 'read') === undefined) return;
    const buses = o.buses().map((b) => ({
      id: b.id,
      kind: b.kind,
      ...(b.port === undefined ? {} : { port: b.port }),
      ...(b.host === undefined ? {} : { host: b.host, tcp_port: b.tcp_port }),
      held: b.held !== undefined,
      link_up: b.held?.linkUp ?? false,
      devices: b.held?.devices ?? [],
    }));
    sendJson(reply, 200, { buses });
  });

  const route = (action: 'read' | 'write' | 'identify') =>
    postRoute(
      app,
      ctx,
      `/api/v1/admin/modbus/:bus/${action}`,
      // Reads and identification take no write from the token's rate; a write does.
      { permission: 'admin', what: 'Modbus commissioning through the gateway', rateLimited: action === 'write', onInternal: internal },
      async ({ who, reply, param: busId, body: raw }) => {
        const body = parseJson(raw);
        const bus = heldBus(o.buses(), busId);
        if (!isObject(body)) throw invalid('body', 'expected a JSON object');
        const t0 = performance.now();
        if (action === 'read') {
          const r = parseRead(body);
          const values = await bus.read(r);
          sendJson(reply, 200, { bus: bus.id, unit: r.unit, table: r.table, address: r.address, values, response_ms: Math.round(performance.now() - t0) });
        } else if (action === 'identify') {
          const unit = intField(body, 'unit', 0, 255);
          const objects = await bus.identify(unit, optInt(body, 'timeout_ms', 10, 60_000), optInt(body, 'tries', 1, 10));
          sendJson(reply, 200, { bus: bus.id, unit, objects });
        } else {
          const w = parseWrite(body);
          const result = await auditedWrite(o, bus, w, { token: who.name, remote: reply.remote });
          sendJson(reply, 200, { bus: bus.id, unit: w.unit, table: w.table, address: w.address, ...result });
        }
      },
    );
  route('read');
  route('write');
  route('identify');
}

/** The write, with its record in the audit trail before the client hears it happened. */
async function auditedWrite(o: ModbusAdminOptions, bus: CommissioningBus, w: RawWrite, who: { token: string; remote: string }) {
  if (o.audit.problem !== undefined) {
    throw new GatewayError('audit_unavailable', `bus ${bus.id}: write refused, the audit trail cannot be written (${o.audit.problem}); writes resume once it can`);
  }
  const named = bus.devices.filter((d) => d.unit === w.unit);
  const base = {
    time: isoTime(Date.now()),
    action: 'modbus_write' as const,
    token: who.token,
    remote: who.remote,
    device: named.length === 1 ? named[0]!.id : `${bus.id}/unit ${w.unit}`,
    bus: bus.id,
    unit: w.unit,
    table: w.table,
    address: w.address,
  };
  let result;
  try {
    result = await bus.write(w);
  } catch (err) {
    // A request refused before it reached the unit (bad values, unknown type) changed nothing: no record.
    if (err instanceof GatewayError && err.code !== 'invalid_request') {
      const requested = Object.fromEntries(w.values.map((v, i) => [String(i), v]));
      await o.audit.append({ ...base, previous: {}, requested, outcome: 'error', error_code: err.code, message: err.message }).catch(() => undefined);
    }
    throw err;
  }
  try {
    await o.audit.append({ ...base, previous: result.previous, requested: result.requested, outcome: 'ok', function_code: result.function_code });
  } catch (err) {
    throw new GatewayError('audit_unavailable', `bus ${bus.id} unit ${w.unit} took the write, but its audit record could not be stored: ${(err as Error).message}`, { cause: err });
  }
  return result;
}

function heldBus(buses: ModbusBusInfo[], id: string): CommissioningBus {
  const b = buses.find((x) => x.id === id);
  if (b === undefined) {
    const known = buses.map((x) => x.id);
    throw new GatewayError('bus_not_found', `no Modbus bus ${JSON.stringify(id)} in this gateway's configuration${known.length > 0 ? ` (buses: ${known.join(', ')})` : ' (it has no Modbus bus)'}`);
  }
  if (b.held === undefined) {
    throw new GatewayError('bus_not_held', `bus ${id} is configured but no device uses it, so this gateway does not open ${b.port ?? `${b.host}:${b.tcp_port}`}: talk to it directly (mgw modbus ... --direct)`);
  }
  if (!b.held.linkUp) throw new GatewayError('bus_down', `bus ${id} (${b.port ?? `${b.host}:${b.tcp_port}`}) is not connected right now; nothing was sent`);
  return b.held;
}


function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(field: string, why: string): GatewayError {
  return new GatewayError('invalid_request', `${field}: ${why}`, { details: { field } });
}

function intField(b: Record<string, unknown>, name: string, min: number, max: number): number {
  const v = b[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(name, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(v) ?? 'nothing'}`);
  return v;
}

function optInt(b: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  return b[name] === undefined ? undefined : intField(b, name, min, max);
}

function pick<T extends string>(b: Record<string, unknown>, name: string, allowed: readonly T[], fallback?: T): T {
  const v = b[name] ?? fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw invalid(name, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(v) ?? 'nothing'}`);
  return v as T;
}

function parseRead(b: Record<string, unknown>): RawRead {
  const table = pick(b, 'table', TABLES);
  return {
    unit: intField(b, 'unit', 0, 255),
    table,
    address: intField(b, 'address', 0, 65535),
    count: intField(b, 'count', 1, table === 'coil' || table === 'discrete' ? 2000 : 125),
    timeoutMs: optInt(b, 'timeout_ms', 10, 60_000),
    tries: optInt(b, 'tries', 1, 10),
  };
}

function parseWrite(b: Record<string, unknown>): RawWrite {
  const table = pick(b, 'table', ['holding', 'coil'] as const);
  const values = b['values'];
  if (!Array.isArray(values) || values.length === 0 || values.length > 1968) throw invalid('values', 'expected a list of 1 or more values');
  values.forEach((v, i) => {
    if (typeof v !== 'number' && typeof v !== 'boolean' && typeof v !== 'string') throw invalid(`values[${i}]`, 'expected a number, true/false or a string');
  });
  const type = b['type'] ?? (table === 'coil' ? 'bool' : undefined);
  if (typeof type !== 'string') throw invalid('type', 'expected the type of the values (int16, float32, string, ...; bool for coils)');
  return {
    unit: intField(b, 'unit', 0, 255),
    table,
    address: intField(b, 'address', 0, 65535),
    type,
    byteOrder: pick(b, 'byte_order', ORDERS, 'big'),
    wordOrder: pick(b, 'word_order', ORDERS, 'big'),
    values: values as (number | boolean | string)[],
    length: optInt(b, 'length', 1, 120),
    function: pick(b, 'function', FUNCTIONS, 'single'),
    timeoutMs: optInt(b, 'timeout_ms', 10, 60_000),
    tries: optInt(b, 'tries', 1, 10),
  };
}
