/**
 * The control service: the one path by which a client changes a device. It validates the
 * request against the point metadata, hands it DOWN to the owning driver, waits for the
 * read-back and applies the confirmed values to the registry (which publishes them).
 */
import { GatewayError, asGatewayError } from './errors.js';
import { validatePointWrite, type PointValue } from './points.js';
import type { Registry } from './registry.js';
import type { Driver } from './driver.js';
import type { ControlResult } from '../protocol/wire.js';

/** The REST control reply's type lives in the protocol module, so the clients see the same one. */
export type { ControlResult };

/** Who asked, for the audit trail and the logs. */
export interface Requester {
  token?: string | undefined;
  remote?: string | undefined;
}

export interface ControlEvent {
  who: Requester;
  deviceId: string;
  previous: Record<string, PointValue>;
  requested: Record<string, PointValue>;
  outcome: { ok: true; result: ControlResult } | { ok: false; error: GatewayError };
}

/**
 * Where every control write is recorded before its client hears that it happened (the audit
 * trail). `problem` says why it cannot take records right now; writes are then refused.
 */
export interface AuditSink {
  readonly problem: string | undefined;
  /** Resolves once the event is durable; rejects (audit_unavailable) when it cannot be. */
  record(e: ControlEvent): Promise<void>;
}

export interface ControlServiceOptions {
  registry: Registry;
  /** Without one, writes are confirmed without a record (unit tests, tools). */
  audit?: AuditSink;
  driverFor: (deviceId: string) => Driver | undefined;
  /** How long a driver may take to confirm a write before the client gets device_timeout (ms). */
  timeoutMs: number;
}

export class ControlService {
  private readonly observers: ((e: ControlEvent) => void)[] = [];

  constructor(private readonly options: ControlServiceOptions) {}

  /** Observers see every attempted write with its outcome (audit trail, metrics). */
  observe(fn: (e: ControlEvent) => void): void {
    this.observers.push(fn);
  }

  /** Validates without writing; returns the canonical values. Throws GatewayError. */
  validate(deviceId: string, body: unknown): Record<string, PointValue> {
    const desc = this.options.registry.descriptor(deviceId);
    if (desc === undefined) throw new GatewayError('device_not_found', `Device ${deviceId} not found`);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new GatewayError('invalid_request', 'the body must be a JSON object of point names and values, e.g. {"speed": 150}');
    }
    const entries = Object.entries(body);
    if (entries.length === 0) {
      throw new GatewayError('invalid_request', 'the body names no point to write, e.g. {"speed": 150}');
    }
    const values: Record<string, PointValue> = {};
    for (const [name, value] of entries) {
      const meta = Object.hasOwn(desc.points, name) ? desc.points[name] : undefined;
      values[name] = validatePointWrite(deviceId, name, meta, value);
    }
    return values;
  }

  async write(deviceId: string, body: unknown, who: Requester = {}): Promise<ControlResult> {
    const { registry, audit } = this.options;
    const values = this.validate(deviceId, body);
    // A write nobody could account for is worse than a refused one (the plant's policy default).
    if (audit?.problem !== undefined) {
      throw new GatewayError('audit_unavailable', `${deviceId}: write refused, the audit trail cannot be written (${audit.problem}); control writes resume once it can`);
    }
    const before = registry.snapshot(deviceId)!;
    const previous: Record<string, PointValue> = {};
    for (const name of Object.keys(values)) previous[name] = before.state[name] ?? null;
    let result: ControlResult;
    try {
      result = await this.perform(deviceId, values, before.online);
    } catch (err) {
      const error = asGatewayError(err);
      const failed: ControlEvent = { who, deviceId, previous, requested: values, outcome: { ok: false, error } };
      this.emit(failed);
      // The client gets the device's error either way: a write that failed changed nothing to confirm.
      await audit?.record(failed).catch(() => undefined);
      throw error;
    }
    const event: ControlEvent = { who, deviceId, previous, requested: values, outcome: { ok: true, result } };
    this.emit(event);
    // Confirmed to the client only once the record is on disk (group commit in the audit log).
    if (audit !== undefined) {
      try {
        await audit.record(event);
      } catch (err) {
        const why = asGatewayError(err).message;
        throw new GatewayError('audit_unavailable', `${deviceId} took the write, but its audit record could not be stored: ${why}`, { cause: err });
      }
    }
    return result;
  }

  private async perform(deviceId: string, values: Record<string, PointValue>, online: boolean): Promise<ControlResult> {
    const { registry, timeoutMs } = this.options;
    const driver = this.options.driverFor(deviceId);
    if (driver === undefined) throw new GatewayError('device_offline', `${deviceId}: no driver is running for this device`);
    if (!online) throw new GatewayError('device_offline', `${deviceId} is offline; the write was not attempted`);
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new GatewayError('device_timeout', `${deviceId} did not confirm the write within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    let confirmed: Record<string, PointValue>;
    try {
      confirmed = await Promise.race([driver.write(deviceId, values, abort.signal), timeout]);
    } finally {
      clearTimeout(timer);
    }
    const diff = registry.apply(deviceId, confirmed, 'device_control');
    if (diff !== null) {
      return {
        device_id: diff.device_id,
        device_type: diff.device_type,
        previous_state: diff.previous_state,
        new_state: diff.new_state,
        changed: true,
        action: 'device_control',
        seq: diff.seq,
      };
    }
    const snap = registry.snapshot(deviceId)!;
    return {
      device_id: deviceId,
      device_type: snap.device_type,
      previous_state: { ...confirmed },
      new_state: { ...confirmed },
      changed: false,
      action: 'device_control',
      seq: snap.seq,
    };
  }

  private emit(e: ControlEvent): void {
    for (const fn of this.observers) fn(e);
  }
}
