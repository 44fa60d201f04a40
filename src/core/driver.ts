/**
 * The driver contract. Everything that talks to the field (the simulator, Modbus buses,
 * serial line devices) is a Driver. A driver reports what it reads through the StateSink and
 * receives control writes as calls from the control service; it never imports the server.
 */
import type { Logger } from 'pino';
import type { DeviceDescriptor } from './registry.js';
import type { PointValue, Quality } from './points.js';

export interface StateSink {
  /**
   * Values read from the field; only changes become diffs. Every point in `values` is a good
   * reading. `quality` states the quality of the other points the same read concerned: `good`
   * for points read whose value did not change enough to report (deadband), `stale` for points
   * whose read failed, `bad` for points the device answered with an error. A point named in
   * neither keeps the quality it had. Only quality changes become diffs.
   */
  report(deviceId: string, values: Record<string, PointValue>, action: 'poll' | 'stream', quality?: Record<string, Quality>): void;
  /** The device stopped (false) or started again (true) answering. Offline makes every point stale. */
  setOnline(deviceId: string, online: boolean, reason?: string): void;
}

export interface DriverContext {
  sink: StateSink;
  log: Logger;
}

export interface DriverHealth {
  /** Milliseconds since epoch of the last completed transaction (poll or write), or null. */
  lastProgress: number | null;
  /** Free-form counters for /metrics (transactions, timeouts, retries, ...). */
  counters?: Record<string, number>;
}

export interface Driver {
  /** Unique among running drivers, e.g. `simulator`, `modbus:line1`, `line:/dev/ttyUSB0`. */
  readonly id: string;
  /** The devices this driver owns; known once constructed, before start(). */
  devices(): DeviceDescriptor[];
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Writes already-validated values and resolves with the values read back from the device
   * (the confirmation). Rejects with a GatewayError (device_offline, device_timeout,
   * device_error) when the device did not take them.
   */
  write(deviceId: string, values: Record<string, PointValue>, signal: AbortSignal): Promise<Record<string, PointValue>>;
  health?(): DriverHealth;
}
