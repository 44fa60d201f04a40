/**
 * Reading a point's quality the same way in every face (CLI, HMI, a third-party script): a value
 * shown without its quality is how a stale or refused reading passes for the device's value now.
 */
import type { DeviceView, Quality } from './types.js';

/**
 * The quality of one point: what the gateway says; for a gateway from before qualities, `good`
 * when the point has a value (all such a gateway published were readings); undefined for a point
 * never read.
 */
export function pointQuality(device: Pick<DeviceView, 'state' | 'quality'>, name: string): Quality | undefined {
  const q = device.quality?.[name];
  if (q !== undefined) return q;
  const v = device.state[name];
  return v === undefined || v === null ? undefined : 'good';
}

