/**
 * Writes that come from the broker (a Sparkplug DCMD, a JSON <prefix>/<device>/set) take the
 * same road as a REST write: an identity with a role, the control service (validation, the
 * driver, read-back), the audit trail. The confirmed value goes north as an ordinary diff.
 * An alarm acknowledgement (a DCMD writing an alarm's `Acked` true, a JSON
 * <prefix>/<device>/alarm/<alarm>/ack) takes the REST ack's road:
 * the same role, the alarm service, its audit record.
 *
 * Who is asking: MQTT carries no sender, so a command that presents an API token in the MQTT 5
 * user property `token` acts as that token (its name and role, from auth.tokens); one without
 * acts as `commands.identity` with `commands.role` (viewer by default: refused). The broker's ACL
 * on the command topics is the gate in front of that.
 *
 * Nothing a client sends can crash this: every payload is checked, every refusal is counted, its
 * log line rate-limited, and refusals that name a device are written to the audit trail.
 */
import type { Packet } from 'mqtt';
import type { Logger } from 'pino';
import { GatewayError, asGatewayError } from '../core/errors.js';
import type { ControlService } from '../core/control.js';
import type { PointValue } from '../core/points.js';
import type { AuditLog } from '../platform/audit.js';
import { roleAllows, type Principal, type TokenStore } from '../server/auth.js';
import { KeyedLimiter } from '../server/limits.js';
import type { CommandsConfig } from './config.js';
import type { AlarmView } from '../protocol/alarms.js';
import { parseComment } from '../server/alarms-routes.js';
import { isoTime } from '../core/time.js';

/** Writes waiting for their device at once; more are refused (a flood cannot queue unbounded work). */
const MAX_PENDING = 32;

/** What an acknowledgement from the broker needs of the alarm service (the REST road's own). */
export interface AlarmAcknowledger {
  view(id: string): AlarmView | undefined;
  act(action: 'ack', id: string, who: { token: string; remote: string }, opts: { comment?: string | null }): Promise<AlarmView>;
}

export interface CommandHandlerOptions {
  config: CommandsConfig;
  control: ControlService;
  audit: AuditLog;
  /** Alarm acknowledgements (Sparkplug: `Alarms/.../Acked` written true). */
  alarms?: AlarmAcknowledger | undefined;
  /** The API tokens now (a reload may change them). */
  tokens: () => TokenStore;
  log: Logger;
}

export interface CommandCounters {
  commands_total: number;
  commands_applied_total: number;
  commands_refused_total: number;
  commands_malformed_total: number;
}

export class CommandHandler {
  private pending = 0;
  private readonly logLimit = new KeyedLimiter({ ratePerS: 1 / 3, burst: 20, maxKeys: 100 });
  private readonly c: CommandCounters = { commands_total: 0, commands_applied_total: 0, commands_refused_total: 0, commands_malformed_total: 0 };

  constructor(private readonly options: CommandHandlerOptions) {}

  counters(): Record<string, number> {
    return { ...this.c };
  }

  /** A JSON `set`: the payload is a REST POST body. */
  jsonSet(deviceId: string, payload: Buffer, packet: Packet): void {
    if (payload.length > this.options.config.max_payload_bytes) {
      this.malformed(deviceId, `payload of ${payload.length} bytes is over commands.max_payload_bytes (${this.options.config.max_payload_bytes})`);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      this.malformed(deviceId, 'payload is not valid JSON; send a JSON object such as {"speed": 150}');
      return;
    }
    void this.write(deviceId, body, packet, `set ${deviceId}`);
  }

  /** A JSON `ack`: an empty payload, or `{"comment": "..."}` as the REST ack takes it. */
  jsonAck(alarmId: string, payload: Buffer, packet: Packet, where: string): void {
    let comment: string | null = null;
    try {
      if (payload.length > this.options.config.max_payload_bytes) throw new Error(`payload of ${payload.length} bytes is over commands.max_payload_bytes (${this.options.config.max_payload_bytes})`);
      if (payload.length > 0) {
        const body = JSON.parse(payload.toString('utf8')) as unknown;
        if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).some((k) => k !== 'comment')) throw new Error('payload must be empty or a JSON object {"comment": "..."}');
        comment = parseComment((body as { comment?: unknown }).comment);
      }
    } catch (err) {
      this.malformed(where, err instanceof SyntaxError ? 'payload is not valid JSON; send nothing, or {"comment": "..."}' : (err as Error).message);
      return;
    }
    void this.ack(alarmId, packet, where, comment);
  }

  /** Counts a command that could not even be read (no device, no values to audit). */
  malformed(where: string, reason: string): void {
    this.c.commands_total++;
    this.c.commands_malformed_total++;
    this.c.commands_refused_total++;
    this.logRefusal({ code: 'invalid_request', where, reason });
  }

  /**
   * Applies a write through the control service as the command's identity. Resolves when it is
   * done either way; never rejects.
   */
  async write(deviceId: string, body: unknown, packet: Packet, where: string): Promise<boolean> {
    this.c.commands_total++;
    let who: Principal | undefined;
    try {
      who = this.identify(packet);
      if (!roleAllows(who.role, 'control')) {
        throw new GatewayError('forbidden', `MQTT identity "${who.name}" has role ${who.role}; writes need role operator or higher`);
      }
      if (this.pending >= MAX_PENDING) throw new GatewayError('rate_limited', `${MAX_PENDING} MQTT writes are already waiting for their devices; command dropped`);
    } catch (err) {
      // A token that matches nothing names no one: the audit says so rather than guessing.
      this.refused(deviceId, body, asGatewayError(err), who?.name ?? 'unknown-token', where);
      return false;
    }
    this.pending++;
    try {
      await this.options.control.write(deviceId, body, { token: `mqtt:${who.name}`, remote: `mqtt ${where}` });
      this.c.commands_applied_total++;
      return true;
    } catch (err) {
      // The control service wrote the audit record for anything that passed validation; a
      // validation refusal is recorded here.
      const e = asGatewayError(err);
      this.c.commands_refused_total++;
      if (e.code === 'validation_error' || e.code === 'invalid_request' || e.code === 'device_not_found') this.auditRefusal(deviceId, body, e, `mqtt:${who.name}`, where);
      this.logRefusal({ code: e.code, where, reason: e.message, identity: who.name });
      return false;
    } finally {
      this.pending--;
    }
  }

  /**
   * Acknowledges an alarm as the command's identity (role operator, as the REST ack), through the
   * alarm service, which audits it like a REST acknowledgement. Resolves either way; never rejects.
   */
  async ack(alarmId: string, packet: Packet, where: string, comment: string | null = null): Promise<boolean> {
    this.c.commands_total++;
    const alarms = this.options.alarms;
    const view = alarms?.view(alarmId);
    let who: Principal | undefined;
    try {
      if (alarms === undefined || view === undefined) throw new GatewayError('alarm_not_found', `no alarm ${JSON.stringify(alarmId.slice(0, 140))}; nothing was acknowledged`);
      who = this.identify(packet);
      if (!roleAllows(who.role, 'control')) {
        throw new GatewayError('forbidden', `MQTT identity "${who.name}" has role ${who.role}; acknowledging alarms needs role operator or higher`);
      }
    } catch (err) {
      const e = asGatewayError(err);
      this.c.commands_refused_total++;
      if (view !== undefined) {
        // As a refused write: who tried, on what, and why not.
        this.options.audit.append({
          time: isoTime(Date.now()),
          action: 'alarm',
          token: `mqtt:${who?.name ?? 'unknown-token'}`,
          remote: `mqtt ${where}`,
          device: view.device_id,
          previous: { alarm: view.id, state: view.state },
          requested: { alarm_action: 'ack' },
          outcome: 'error',
          error_code: e.code,
          message: e.message,
        });
      }
      this.logRefusal({ code: e.code, where, reason: e.message, ...(who === undefined ? {} : { identity: who.name }) });
      return false;
    }
    try {
      await alarms.act('ack', alarmId, { token: `mqtt:${who.name}`, remote: `mqtt ${where}` }, { comment });
      this.c.commands_applied_total++;
      return true;
    } catch (err) {
      // The alarm service wrote the audit record (an alarm already acknowledged: alarm_state).
      const e = asGatewayError(err);
      this.c.commands_refused_total++;
      this.logRefusal({ code: e.code, where, reason: e.message, identity: who.name });
      return false;
    }
  }

  private identify(packet: Packet): Principal {
    const token = userProperty(packet, 'token');
    if (token === undefined) return { name: this.options.config.identity, role: this.options.config.role, anonymous: false };
    const p = this.options.tokens().find(token);
    if (p === undefined) throw new GatewayError('unauthorized', 'the MQTT user property "token" is not a valid API token');
    return p;
  }

  private refused(deviceId: string, body: unknown, e: GatewayError, identity: string, where: string): void {
    this.c.commands_refused_total++;
    this.auditRefusal(deviceId, body, e, `mqtt:${identity}`, where);
    this.logRefusal({ code: e.code, where, reason: e.message, identity });
  }

  private auditRefusal(deviceId: string, body: unknown, e: GatewayError, actor: string, where: string): void {
    this.options.audit.append({
      time: isoTime(Date.now()),
      token: actor,
      remote: `mqtt ${where}`,
      device: deviceId.slice(0, 64),
      previous: {},
      requested: requestedValues(body),
      outcome: 'error',
      error_code: e.code,
      message: e.message,
    });
  }

  private logRefusal(fields: { code: string; where: string; reason: string; identity?: string }): void {
    if (this.logLimit.take(fields.code)) this.options.log.warn({ ...fields, refused_total: this.c.commands_refused_total }, 'MQTT command refused');
    else this.options.log.debug(fields, 'MQTT command refused');
  }
}

function userProperty(packet: Packet, key: string): string | undefined {
  const props = (packet as { properties?: { userProperties?: Record<string, string | string[]> } }).properties?.userProperties;
  const v = props?.[key];
  if (Array.isArray(v)) return v[0];
  return typeof v === 'string' ? v : undefined;
}

/** What a refused command asked for, bounded, for the audit trail. */
function requestedValues(body: unknown): Record<string, PointValue> {
  const out: Record<string, PointValue> = {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return out;
  let n = 0;
  for (const [k, v] of Object.entries(body)) {
    if (++n > 32) break;
    const value = typeof v === 'string' ? v.slice(0, 200) : typeof v === 'number' || typeof v === 'boolean' || v === null ? v : String(JSON.stringify(v)).slice(0, 200);
    out[k.slice(0, 64)] = value;
  }
  return out;
}
