/**
 * The welcome's device list: values per device, point metadata once per device type. The server
 * packs its views with `packWelcomeDevices`; a client unpacks them with `devicesOfWelcome` and
 * gets the same views `get_all_status` would give. Browser-safe.
 */
import type { ConnectionEstablishedMessage, DeviceTypeMeta, DeviceValues, DeviceView, PointMeta } from './wire.js';

export interface PackedDevices {
  devices: DeviceValues[];
  device_types: Record<string, DeviceTypeMeta>;
}

/**
 * Splits views into values and per-type metadata. The first device of a type sets the type's
 * metadata; a device of the same type whose metadata differs (a Modbus device with its own
 * register map under a shared type name) keeps its `points`. `sameMeta` compares two point
 * tables; the server passes one that caches, the default compares them field by field.
 */
export function packWelcomeDevices(views: readonly DeviceView[], sameMeta: (a: Record<string, PointMeta>, b: Record<string, PointMeta>) => boolean = samePoints): PackedDevices {
  const device_types: Record<string, DeviceTypeMeta> = {};
  const devices: DeviceValues[] = [];
  for (const view of views) {
    const { points, ...values } = view;
    const shared = device_types[view.device_type];
    if (shared === undefined) {
      device_types[view.device_type] = { points };
      devices.push(values);
    } else if (shared.points === points || sameMeta(shared.points, points)) {
      devices.push(values);
    } else {
      devices.push(view);
    }
  }
  return { devices, device_types };
}

/**
 * The welcome's devices as full views: each device's own `points`, else its type's. A welcome
 * from a gateway that sent full views (no `device_types`) is read as it is.
 */
export function devicesOfWelcome(msg: Pick<ConnectionEstablishedMessage, 'devices' | 'device_types'>): DeviceView[] {
  const types = msg.device_types ?? {};
  return (msg.devices ?? []).map((d) => ({ ...d, points: d.points ?? types[d.device_type]?.points ?? {} }));
}

/** Two point tables with the same names and the same metadata, field by field. */
export function samePoints(a: Record<string, PointMeta>, b: Record<string, PointMeta>): boolean {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  for (const name of names) {
    const x = a[name];
    const y = b[name];
    if (x === undefined || y === undefined) return false;
    if (x === y) continue;
    const keys = Object.keys(x) as (keyof PointMeta)[];
    if (keys.length !== Object.keys(y).length) return false;
    for (const k of keys) {
      const u = x[k];
      const v = y[k];
      if (Array.isArray(u) && Array.isArray(v)) {
        if (u.length !== v.length || u.some((e, i) => e !== v[i])) return false;
      } else if (u !== v) return false;
    }
  }
  return true;
}
