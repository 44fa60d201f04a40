/**
 * How `mgw watch` shows values: each with its unit, only the points asked for, and marked when
 * it is not the device's current value. Whether a value is current is decided in one place,
 * `pointQuality`, for every output, as the HMI does: the quality the gateway states for the point
 * (stale, bad), and stale for a good one read before the device went offline or while this watch
 * has no link to the gateway.
 */
import type { UpdateEvent } from '../../client/index.js';
import type { DeviceView, PointMeta, PointValue, Quality } from '../../protocol/wire.js';
import { pointQuality as statedQuality } from '../../client/quality.js';
import { dim, formatQualified, green, red, yellow } from '../output.js';

/** Which points to show: all (undefined), or the ones named with --points. */
export type PointFilter = ReadonlySet<string> | undefined;

/** The quality of a point as shown; undefined for a point never read (or a name that is no point, such as `online`). */
type QualityOf = (point: string) => Quality | undefined;

/** The one rule for whether a shown value is current; every output asks it. */
export function pointQuality(device: DeviceView, point: string, linkLive: boolean): Quality | undefined {
  if (!Object.hasOwn(device.points, point)) return undefined;
  const stated = statedQuality(device, point);
  return stated === 'good' && !(linkLive && device.online) ? 'stale' : stated;
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

/** A device's values, and the points refused before they ever had one (shown as `-`). */
export function deviceState(d: DeviceView): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...d.state };
  for (const name of Object.keys(d.quality ?? {})) if (!Object.hasOwn(shown, name)) shown[name] = null;
  return shown;
}

/**
 * What an update changed: its values, and the points whose quality alone changed with the value
 * they keep, so that a quality change is shown like a value change, never as an empty line.
 */
export function updateState(u: UpdateEvent): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...u.new_state };
  for (const name of Object.keys(u.quality ?? {})) if (!Object.hasOwn(shown, name)) shown[name] = u.device.state[name] ?? null;
  return shown;
}

/** `speed=1500 rpm`, `speed=1500 rpm [stale]`: one point with its unit (the device's metadata) and quality, as `mgw devices` shows it. */
export function pointText(name: string, value: unknown, meta: PointMeta | undefined, quality?: Quality): string {
  return `${name}=${formatQualified(value as PointValue, quality, meta?.unit)}`;
}

/** `name=value unit` for each shown point of a state or a diff, two spaces apart, each marked by its quality. */
export function valuesText(state: Record<string, unknown>, points: Record<string, PointMeta>, filter: PointFilter, quality: QualityOf = () => undefined): string {
  return shownPoints(state, points, filter)
    .map((n) => pointText(n, state[n], points[n], quality(n)))
    .join('  ');
}

/**
 * The VALUES cell of the live table. When every shown value is stale (the usual case: the device
 * or the link is down) one STALE marker leads the dimmed values; otherwise each value that is
 * not current carries its own mark (`[stale]`, `[bad]`).
 */
export function valuesCell(device: DeviceView, filter: PointFilter, linkLive: boolean): string {
  const state = deviceState(device);
  const parts = shownPoints(state, device.points, filter).map((n) => ({ name: n, quality: pointQuality(device, n, linkLive) }));
  if (parts.length > 0 && parts.every((p) => p.quality === 'stale')) {
    return `${yellow('STALE')}  ${dim(parts.map((p) => pointText(p.name, state[p.name], device.points[p.name])).join('  '))}`;
  }
  return parts.map((p) => pointText(p.name, state[p.name], device.points[p.name], p.quality)).join('  ');
}

/** The ONLINE cell: the device's state as the gateway reports it, or `no link` while this watch cannot know it. */
export function onlineCell(device: DeviceView, linkLive: boolean): string {
  if (!linkLive) return yellow('no link');
  return device.online ? green('online') : red('offline');
}
