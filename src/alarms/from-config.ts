/**
 * The devices of a gateway config as the alarm definitions see them: points from the
 * device's driver config (drivers/points.ts), its own alarms and those of its profile.
 */
import type { DeviceConfig } from '../config/schema.js';
import { configuredPoints } from '../../drivers/points.js';
import { PROFILES } from '../../drivers/profiles/index.js';
import type { PointMap } from '../core/points.js';
import type { PointAlarmsInput } from './config.js';
import { buildDefinitions, type AlarmDeviceInput, type DefinitionsResult } from './definitions.js';

/** Entries that failed the schema come as undefined (see src/config/cross-checks.ts): skipped, the others keep their index. */
export function alarmDeviceInputs(cfg: { devices: readonly (DeviceConfig | undefined)[] }): AlarmDeviceInput[] {
  const out: AlarmDeviceInput[] = [];
  cfg.devices.forEach((d, index) => {
    if (d === undefined) return;
    const points = configuredPoints(d);
    out.push({
      id: d.id,
      name: d.name ?? d.id,
      index,
      points,
      alarms: d.alarms,
      profileAlarms: d.driver === 'modbus' ? profileAlarms(d, points) : undefined,
      poll_interval_ms: d.poll_interval_ms,
    });
  });
  return out;
}

export function alarmDefinitionsOf(cfg: { devices: readonly (DeviceConfig | undefined)[] }): DefinitionsResult {
  return buildDefinitions(alarmDeviceInputs(cfg));
}

/**
 * The profile's alarms for the points the device keeps as the profile defines them: a point the
 * device dropped (`exclude`, `points: {name: null}`) or declares itself has no profile alarms
 * (its own `alarms.points` entry gives it some).
 */
function profileAlarms(d: Extract<DeviceConfig, { driver: 'modbus' }>, points: PointMap): Record<string, PointAlarmsInput> | undefined {
  if (d.profile === undefined) return undefined;
  const all = PROFILES[d.profile].alarms ?? {};
  return Object.fromEntries(Object.entries(all).filter(([p]) => Object.hasOwn(points, p) && !(d.points !== undefined && Object.hasOwn(d.points, p))));
}
