/**
 * `GET /api/v1/devices?quality=stale,bad`: only the devices showing a value of one of these
 * qualities, so a supervisor (or `mgw devices --quality`) finds the data not to trust at once.
 */
import { GatewayError } from '../core/errors.js';
import type { Quality } from '../core/points.js';
import type { DeviceSnapshot } from '../core/registry.js';

const QUALITIES: readonly Quality[] = ['good', 'stale', 'bad', 'uncertain'];
const KNOWN_PARAMS = ['quality'];

/** The qualities asked for, or undefined for every device; throws invalid_request on anything else. */
export function parseDeviceListQuery(query: string): ReadonlySet<Quality> | undefined {
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (!KNOWN_PARAMS.includes(key)) {
      throw new GatewayError('invalid_request', `unknown query parameter ${JSON.stringify(key.slice(0, 40))}; use quality, e.g. ?quality=stale,bad`);
    }
  }
  const raw = params.getAll('quality');
  if (raw.length === 0) return undefined;
  const wanted = new Set<Quality>();
  for (const part of raw.join(',').split(',')) {
    const q = part.trim();
    if (!(QUALITIES as readonly string[]).includes(q)) {
      throw new GatewayError('invalid_request', `quality ${JSON.stringify(q.slice(0, 40))} is not one of ${QUALITIES.join(', ')} (a comma-separated list, e.g. ?quality=stale,bad)`);
    }
    wanted.add(q as Quality);
  }
  return wanted;
}

/** Whether a device has at least one point of a wanted quality. */
export function showsQuality(s: DeviceSnapshot, wanted: ReadonlySet<Quality>): boolean {
  for (const name in s.quality) if (wanted.has(s.quality[name]!)) return true;
  return false;
}
