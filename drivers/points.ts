/**
 * The points a configured device will have, from its config alone (no driver started): the
 * config checks use it to name an alarm on a point that does not exist, and what type it is.
 */
import type { PointMap } from '../src/core/points.js';
import type { DeviceConfig } from '../src/config/schema.js';
import { IO_POINTS, MOTOR_POINTS, SENSOR_POINTS } from './simulator/models.js';
import { devicePointConfigs } from './modbus/device.js';
import { resolvePoint } from './modbus/codec.js';
import { pointMeta } from './line/convert.js';

export function configuredPoints(d: DeviceConfig): PointMap {
  switch (d.driver) {
    case 'simulator':
      return d.model === 'motor' ? MOTOR_POINTS : d.model === 'io' ? IO_POINTS : SENSOR_POINTS;
    case 'modbus': {
      const out: PointMap = {};
      for (const [name, p] of Object.entries(devicePointConfigs(d))) {
        try {
          out[name] = resolvePoint(name, p).meta;
        } catch {
          // The Modbus checks report a point that does not resolve; here it is simply absent.
        }
      }
      return out;
    }
    case 'line':
      return Object.fromEntries(Object.entries(d.points).map(([name, p]) => [name, pointMeta(p)]));
  }
}
