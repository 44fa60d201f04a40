/**
 * The devices of a gateway config as the alarm definitions see them: points from the
 * device's driver config (drivers/points.ts), its own alarms and those of its profile.
 */
import type { DeviceConfig } from '../config/schema.js';
import { configuredPoints } from '../../drivers/points.js';
import { PROFILES } from '../../drivers/profiles/index.js';
import { buildDefinitions, type AlarmDeviceInput, type DefinitionsResult } from './definitions.js';

/** Entries that failed the schema come as undefined (see src/config/cross-checks.ts): skipped, the others keep their index. */
export function alarmDeviceInputs(cfg: { devices: readonly (DeviceConfig | undefined)[] }): AlarmDeviceInput[] {
  const out: AlarmDeviceInput[] = [];
  cfg.devices.forEach((d, index) => {
    if (d === undefined) return;
    out.push({
      id: d.id,
      name: d.name ?? d.id,
      index,
      points: configuredPoints(d),
      alarms: d.alarms,
      profileAlarms: d.driver === 'modbus' && d.profile !== undefined ? PROFILES[d.profile].alarms : undefined,
      poll_interval_ms: d.poll_interval_ms,
    });
  });
  return out;
}

export function alarmDefinitionsOf(cfg: { devices: readonly (DeviceConfig | undefined)[] }): DefinitionsResult {
  return buildDefinitions(alarmDeviceInputs(cfg));
}
