/**
 * The client's copy of the registry: one DeviceView per device, kept in step with the server by
 * sequence number. Pure bookkeeping without I/O, so every rule below is unit-testable:
 *
 * - an update whose seq is not above the device's seq is a duplicate (already applied): dropped;
 * - seq + 1 is applied;
 * - anything further ahead is a gap: the caller re-subscribes with `since` and, until that
 *   answer arrives, updates that do not fit are held back (dropped: the replay brings them again).
 */
import type { DeviceUpdateMessage, DeviceView, PointValue } from './types.js';

export type ApplyOutcome =
  | { kind: 'applied'; device: DeviceView; onlineChanged: boolean }
  | { kind: 'duplicate' }
  | { kind: 'gap'; expected: number; got: number }
  | { kind: 'held' }
  | { kind: 'unknown' };

export class DeviceStore {
  private readonly devices = new Map<string, DeviceView>();
  private readonly resyncing = new Set<string>();

  get size(): number {
    return this.devices.size;
  }

  ids(): string[] {
    return [...this.devices.keys()];
  }

  has(id: string): boolean {
    return this.devices.has(id);
  }

  get(id: string): DeviceView | undefined {
    return this.devices.get(id);
  }

  /** Every device, in the order the server first listed them. */
  all(): DeviceView[] {
    return [...this.devices.values()];
  }

  seq(id: string): number | undefined {
    return this.devices.get(id)?.seq;
  }

  /** Whether a re-subscription for this device is under way (updates that do not fit are held back). */
  isResyncing(id: string): boolean {
    return this.resyncing.has(id);
  }

  markResyncing(id: string): void {
    this.resyncing.add(id);
  }

  clearResyncing(id: string): void {
    this.resyncing.delete(id);
  }

  /** Replaces a device by a server snapshot (connect, resync, plain subscribe). */
  replace(view: DeviceView): DeviceView {
    // Own copies: the diffs applied later change them in place.
    const copy: DeviceView = { ...view, state: { ...view.state }, quality: { ...(view.quality ?? {}) } };
    this.devices.set(view.device_id, copy);
    this.resyncing.delete(view.device_id);
    return copy;
  }

  remove(id: string): boolean {
    this.resyncing.delete(id);
    return this.devices.delete(id);
  }

  apply(msg: DeviceUpdateMessage): ApplyOutcome {
    const d = this.devices.get(msg.device_id);
    if (d === undefined) return { kind: 'unknown' };
    if (msg.seq <= d.seq) return { kind: 'duplicate' };
    if (msg.seq > d.seq + 1) {
      if (this.resyncing.has(msg.device_id)) return { kind: 'held' };
      this.resyncing.add(msg.device_id);
      return { kind: 'gap', expected: d.seq + 1, got: msg.seq };
    }
    let onlineChanged = false;
    for (const [name, value] of Object.entries(msg.data.new_state)) {
      // The registry folds reachability into the diff as `online`, unless a device has a point of that name.
      if (name === 'online' && typeof value === 'boolean' && !Object.hasOwn(d.points, name)) {
        onlineChanged = onlineChanged || d.online !== value;
        d.online = value;
      } else {
        d.state[name] = value as PointValue;
      }
    }
    // Quality changes travel in the same diff (a gateway from before qualities sends none).
    if (msg.data.quality !== undefined) Object.assign((d.quality ??= {}), msg.data.quality);
    d.seq = msg.seq;
    // The registry stamps last_update when a value changes or the device comes back, never on a
    // bare reachability or quality change: the age of the data is the age of the last good reading.
    if (msg.data.action !== 'status' && hasKeys(msg.data.new_state)) d.last_update = msg.timestamp;
    return { kind: 'applied', device: d, onlineChanged };
  }
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
