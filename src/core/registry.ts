/**
 * The device registry: the one place that holds the current state of every device.
 *
 * `apply()` compares new values with the current state and, only when something changed,
 * bumps the device's `seq`, keeps the diff in a bounded replay ring and hands it to every
 * listener synchronously. Because listeners run in the same tick as the change, a snapshot
 * taken by a listener or by a request handler is always consistent with the seq it reports.
 *
 * It imports nothing from the server or the drivers.
 */
import { randomBytes } from 'node:crypto';
import type { PointMap, PointValue, Quality } from './points.js';
import type { DeviceUpdateData, UpdateAction } from '../protocol/wire.js';

export interface DeviceDescriptor {
  id: string;
  name: string;
  device_type: string;
  /** Which driver instance owns the device (for reload, metrics and error messages). */
  driver: string;
  points: PointMap;
  /** Where the device is in the plant (config `area`, `line`): metadata for grouping, absent when not set. */
  area?: string;
  line?: string;
}

/** Why a diff happened: a confirmed write, a poll, a streamed line, or a change of reachability. */
export type DiffAction = UpdateAction;

/** The wire's update shape (src/protocol) plus where the diff stands in its device's sequence. */
export interface DeviceDiff extends DeviceUpdateData {
  /** Per device, +1 for every published diff; restarts at 0 with the process (see `instance`). */
  seq: number;
  /** Seconds since the epoch, as in the ADR. */
  timestamp: number;
}

export interface DeviceSnapshot {
  device_id: string;
  device_type: string;
  name: string;
  state: Record<string, PointValue>;
  online: boolean;
  last_update: number | null;
  seq: number;
  points: PointMap;
  /** Quality of every point that has one (read at least once, or refused by the device). */
  quality: Record<string, Quality>;
  area?: string;
  line?: string;
}

export type DiffListener = (diff: DeviceDiff) => void;

interface DeviceEntry {
  desc: DeviceDescriptor;
  state: Record<string, PointValue>;
  quality: Record<string, Quality>;
  online: boolean;
  lastUpdate: number | null;
  seq: number;
  /** The seq the entry started at: the ring holds only diffs after it. */
  base: number;
  ring: (HeldDiff | undefined)[];
  ringNext: number;
  /** The names of the last held diff, shared by the next one that changes the same points. */
  lastNames: readonly string[];
}

/**
 * A diff as the replay ring holds it, rebuilt into a DeviceDiff only for a replay: the changed
 * names once (shared between diffs that change the same points) and the values in arrays, where
 * numbers stay unboxed. Kept as DeviceDiff objects, each value is boxed twice in keyed objects:
 * ~950 bytes for 20 changed points against ~400 here, and the ring (devices x replay_size
 * diffs) is the largest thing a running gateway holds.
 */
interface HeldDiff {
  names: readonly string[];
  previous: (PointValue | boolean)[];
  next: (PointValue | boolean)[];
  action: DiffAction;
  /** Milliseconds since the epoch. */
  t: number;
  quality: Record<string, Quality> | undefined;
}

export interface RegistryOptions {
  /** Diffs kept per device for replay to reconnecting clients (count, >= 1). */
  replaySize: number;
  /** Clock in milliseconds; injectable for tests. */
  now?: () => number;
}

export class Registry {
  /** Identifies this process's seq numbering: a `since` from another instance must resync. */
  readonly instance: string = randomBytes(6).toString('hex');
  private readonly devices = new Map<string, DeviceEntry>();
  private readonly listeners: DiffListener[] = [];
  /** Last seq of devices removed from this instance, so that a device that comes back continues it. */
  private readonly retired = new Map<string, number>();
  private readonly replaySize: number;
  private readonly now: () => number;

  constructor(options: RegistryOptions) {
    if (!Number.isInteger(options.replaySize) || options.replaySize < 1) {
      throw new RangeError(`replaySize must be an integer >= 1, got ${options.replaySize}`);
    }
    this.replaySize = options.replaySize;
    this.now = options.now ?? Date.now;
  }

  add(desc: DeviceDescriptor): void {
    if (this.devices.has(desc.id)) throw new Error(`device ${desc.id} is already registered`);
    // A device a reload changed comes back with a fresh entry. Starting its seq over would make
    // clients that followed the old entry drop the new diffs as duplicates. It continues one
    // number further instead: the skipped number is a gap to those clients, and since() cannot
    // replay across it, so they resync with the new description.
    const last = this.retired.get(desc.id);
    this.retired.delete(desc.id);
    const base = last === undefined ? 0 : last + 1;
    this.devices.set(desc.id, {
      desc,
      state: {},
      quality: {},
      online: false,
      lastUpdate: null,
      seq: base,
      base,
      ring: new Array<HeldDiff | undefined>(this.replaySize),
      ringNext: 0,
      lastNames: [],
    });
  }

  remove(id: string): boolean {
    const e = this.devices.get(id);
    if (e !== undefined) this.retired.set(id, e.seq);
    return this.devices.delete(id);
  }

  has(id: string): boolean {
    return this.devices.has(id);
  }

  ids(): string[] {
    return [...this.devices.keys()];
  }

  get size(): number {
    return this.devices.size;
  }

  descriptor(id: string): DeviceDescriptor | undefined {
    return this.devices.get(id)?.desc;
  }

  snapshot(id: string): DeviceSnapshot | undefined {
    const e = this.devices.get(id);
    return e === undefined ? undefined : toSnapshot(e);
  }

  list(): DeviceSnapshot[] {
    return [...this.devices.values()].map(toSnapshot);
  }

  seq(id: string): number | undefined {
    return this.devices.get(id)?.seq;
  }

  onDiff(listener: DiffListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Applies values read from (or confirmed by) the field. Every value is a good reading;
   * `quality` sets the quality of other points the same read concerned (see StateSink.report).
   * Returns the diff of what changed, values or qualities, or null when nothing did (and then
   * nothing is published).
   */
  apply(id: string, values: Record<string, PointValue>, action: DiffAction, quality?: Record<string, Quality>): DeviceDiff | null {
    const e = this.entry(id);
    const previous: Record<string, PointValue | boolean> = {};
    const next: Record<string, PointValue | boolean> = {};
    let qualities: Record<string, Quality> | undefined;
    let changed = false;
    for (const [name, value] of Object.entries(values)) {
      if (!Object.hasOwn(e.desc.points, name)) {
        throw new Error(`device ${id} has no point ${JSON.stringify(name)} (driver bug)`);
      }
      if (e.quality[name] !== 'good') {
        e.quality[name] = 'good';
        (qualities ??= {})[name] = 'good';
      }
      const old = Object.hasOwn(e.state, name) ? e.state[name]! : null;
      if (Object.hasOwn(e.state, name) && Object.is(old, value)) continue;
      previous[name] = old;
      next[name] = value;
      e.state[name] = value;
      changed = true;
    }
    // The device answered this read (with values, or with an error for some points); a read
    // that only reports stale points proves nothing about it.
    let answered = Object.keys(values).length > 0;
    if (quality !== undefined) {
      for (const name in quality) {
        const q = quality[name]!;
        if (q !== 'stale') answered = true;
        if (!Object.hasOwn(e.desc.points, name)) {
          throw new Error(`device ${id} has no point ${JSON.stringify(name)} (driver bug)`);
        }
        if (Object.hasOwn(values, name) || e.quality[name] === q) continue;
        e.quality[name] = q;
        (qualities ??= {})[name] = q;
      }
    }
    const t = this.now();
    if (changed) e.lastUpdate = t;
    // A device that answers is online: fold that transition into the same diff.
    if (action !== 'device_control' && !e.online && answered) {
      previous['online'] = false;
      next['online'] = true;
      e.online = true;
      e.lastUpdate = t;
      changed = true;
    }
    if (!changed && qualities === undefined) return null;
    return this.publish(e, previous, next, action, t, qualities);
  }

  /**
   * Marks a device reachable or not; a transition is a diff like any other (`{online: false}`).
   * Going offline makes every good point stale in the same diff: its value is the last one read,
   * not the device's value now.
   */
  setOnline(id: string, online: boolean): DeviceDiff | null {
    const e = this.entry(id);
    if (e.online === online) return null;
    e.online = online;
    let qualities: Record<string, Quality> | undefined;
    if (!online) {
      for (const name in e.quality) {
        if (e.quality[name] !== 'good') continue;
        e.quality[name] = 'stale';
        (qualities ??= {})[name] = 'stale';
      }
    }
    return this.publish(e, { online: !online }, { online }, 'status', this.now(), qualities);
  }

  /**
   * The diffs after `seq` for a reconnecting client, oldest first, or null when they are no
   * longer all held (or `seq` is from the future): then the client needs a fresh snapshot.
   */
  since(id: string, seq: number): DeviceDiff[] | null {
    const e = this.entry(id);
    if (!Number.isInteger(seq) || seq < e.base || seq > e.seq) return null;
    const missing = e.seq - seq;
    if (missing === 0) return [];
    const held = Math.min(e.seq - e.base, this.replaySize);
    if (missing > held) return null;
    const out: DeviceDiff[] = [];
    for (let k = missing; k >= 1; k--) {
      const idx = (e.ringNext - k + this.replaySize) % this.replaySize;
      out.push(unpack(e, e.ring[idx]!, e.seq - k + 1));
    }
    return out;
  }

  private entry(id: string): DeviceEntry {
    const e = this.devices.get(id);
    if (e === undefined) throw new Error(`unknown device ${id}`);
    return e;
  }

  private publish(e: DeviceEntry, ...parts: DiffParts): DeviceDiff {
    e.seq += 1;
    const diff = makeDiff(e, e.seq, ...parts);
    e.ring[e.ringNext] = hold(e, diff, parts[3]);
    e.ringNext = (e.ringNext + 1) % this.replaySize;
    for (const l of this.listeners) l(diff);
    return diff;
  }
}

function hold(e: DeviceEntry, diff: DeviceDiff, t: number): HeldDiff {
  const keys = Object.keys(diff.new_state);
  const last = e.lastNames;
  const names = keys.length === last.length && keys.every((k, i) => k === last[i]) ? last : (e.lastNames = keys);
  return {
    names,
    previous: names.map((n) => diff.previous_state[n]!),
    next: names.map((n) => diff.new_state[n]!),
    action: diff.action,
    t,
    quality: diff.quality,
  };
}

/** What a diff says besides its device and seq; `t` in milliseconds since the epoch. */
type DiffParts = [
  previous: Record<string, PointValue | boolean>,
  next: Record<string, PointValue | boolean>,
  action: DiffAction,
  t: number,
  quality: Record<string, Quality> | undefined,
];

/** A diff as published, and as a replay rebuilds it: one shape, so both serialize the same. */
function makeDiff(e: DeviceEntry, seq: number, ...[previous, next, action, t, quality]: DiffParts): DeviceDiff {
  const diff: DeviceDiff = {
    device_id: e.desc.id,
    device_type: e.desc.device_type,
    previous_state: previous,
    new_state: next,
    changed: true,
    action,
    seq,
    timestamp: t / 1000,
  };
  if (quality !== undefined) diff.quality = quality;
  return diff;
}

function unpack(e: DeviceEntry, h: HeldDiff, seq: number): DeviceDiff {
  const previous: Record<string, PointValue | boolean> = {};
  const next: Record<string, PointValue | boolean> = {};
  h.names.forEach((n, i) => {
    previous[n] = h.previous[i]!;
    next[n] = h.next[i]!;
  });
  return makeDiff(e, seq, previous, next, h.action, h.t, h.quality);
}

function toSnapshot(e: DeviceEntry): DeviceSnapshot {
  return {
    device_id: e.desc.id,
    device_type: e.desc.device_type,
    name: e.desc.name,
    state: { ...e.state },
    online: e.online,
    last_update: e.lastUpdate === null ? null : e.lastUpdate / 1000,
    seq: e.seq,
    points: e.desc.points,
    quality: { ...e.quality },
    ...(e.desc.area === undefined ? {} : { area: e.desc.area }),
    ...(e.desc.line === undefined ? {} : { line: e.desc.line }),
  };
}
