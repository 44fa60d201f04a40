/**
 * How `mgw watch` shows values: each with its unit, only the points asked for, and marked when
 * it is not the device's current value. Whether a value is current is decided in one place,
 * `pointQuality`, for every output, as the HMI does: a value read before the device went
 * offline, or while this watch has no link to the gateway, is the last known one, not the live one.
 */
import type { DeviceView, PointMeta, PointValue } from '../../client/index.js';
import { dim, formatValue, green, red, yellow } from '../output.js';

/** good: the device's current value; stale: the last one known (device offline, or no link to the gateway). */
export type Quality = 'good' | 'stale';

/** Which points to show: all (undefined), or the ones named with --points. */
export type PointFilter = ReadonlySet<string> | undefined;

/** The one rule for whether a shown value is current; every output asks it. */
export function pointQuality(device: DeviceView, _point: string, linkLive: boolean): Quality {
  return linkLive && device.online ? 'good' : 'stale';
}

/**
 * The names of `state` to show, in the order the gateway sent them. A reachability change
 * (`online`, which the gateway folds into a diff unless a device has a point of that name)
 * passes every filter: it tells whether the values shown are still live.
 */
export function shownPoints(state: Record<string, unknown>, points: Record<string, PointMeta>, filter: PointFilter): string[] {
  const names = Object.keys(state);
  return filter === undefined ? names : names.filter((n) => filter.has(n) || (n === 'online' && !Object.hasOwn(points, n)));
}

/** `speed=1500 rpm`: one point with its unit (the device's metadata), as `mgw devices` shows it. */
export function pointText(name: string, value: unknown, meta: PointMeta | undefined): string {
  return `${name}=${formatValue(value as PointValue, meta?.unit)}`;
}

/** `name=value unit` for each shown point of a state or a diff, two spaces apart. */
export function valuesText(state: Record<string, unknown>, points: Record<string, PointMeta>, filter: PointFilter): string {
  return shownPoints(state, points, filter)
    .map((n) => pointText(n, state[n], points[n]))
    .join('  ');
}

/**
 * The VALUES cell of the live table. Stale values are dimmed; when every shown value is stale
 * (the usual case: the device or the link is down) one STALE marker leads the cell, otherwise
 * each stale value carries its own.
 */
export function valuesCell(device: DeviceView, filter: PointFilter, linkLive: boolean): string {
  const parts = shownPoints(device.state, device.points, filter).map((n) => ({
    text: pointText(n, device.state[n], device.points[n]),
    quality: pointQuality(device, n, linkLive),
  }));
  if (parts.length > 0 && parts.every((p) => p.quality === 'stale')) return `${yellow('STALE')}  ${dim(parts.map((p) => p.text).join('  '))}`;
  return parts.map((p) => (p.quality === 'stale' ? `${dim(p.text)} ${yellow('(stale)')}` : p.text)).join('  ');
}

/** The ONLINE cell: the device's state as the gateway reports it, or `no link` while this watch cannot know it. */
export function onlineCell(device: DeviceView, linkLive: boolean): string {
  if (!linkLive) return yellow('no link');
  return device.online ? green('online') : red('offline');
}
