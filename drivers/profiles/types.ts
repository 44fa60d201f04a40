import type { ModbusPointInput } from '../modbus/config.js';
import type { PointAlarmsInput } from '../../src/alarms/config.js';

/** A reusable register map: what a device of this kind holds and where. */
export interface Profile {
  /** Reported as device_type unless the device sets `type`. */
  deviceType: string;
  /** Where the map comes from, so a technician can check it against the manual. */
  source: string;
  points: Record<string, ModbusPointInput>;
  /** Alarms where the register map makes a limit obvious (a fault code, a rated value); a device's own `alarms.points` entry replaces them. */
  alarms?: Record<string, PointAlarmsInput>;
}
