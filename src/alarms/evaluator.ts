/**
 * The alarm evaluator: a consumer of registry diffs (src/core/consumer.ts). A diff that crosses
 * a limit raises the alarm in the same tick; on- and off-delays are timers started by the diff,
 * not polls; a value that chatters inside the deadband raises nothing (condition.ts).
 *
 * Quality (src/core/points.ts). A value that is not the device's current value must neither
 * raise nor clear an alarm as if it were. The gateway follows the practice of DCS alarm
 * management (ISA-18.2's instrument diagnostic alarms; "bad PV" handling in DeltaV and
 * Experion): while a point's reading is stale or bad, its limit and discrete alarms HOLD their
 * state (pending delays are cancelled) and a separate `quality` alarm of the point (priority low
 * by default) is raised instead, so the operator knows the alarm picture for that point is
 * blind. When the whole device is offline its one `offline` alarm says so, and the points'
 * quality alarms stay quiet (one alarm for one cause, as EEMUA 191 asks for floods).
 * The first good reading after that evaluates the alarms afresh.
 */
import type { DiffConsumer, ConsumerHealth } from '../core/consumer.js';
import type { DeviceDiff, Registry } from '../core/registry.js';
import type { PointValue, Quality } from '../core/points.js';
import type { AlarmDefinition } from './definitions.js';
import type { AlarmTable } from './table.js';
import { valueCondition } from './condition.js';

export interface EvaluatorOptions {
  registry: Registry;
  table: AlarmTable;
  /** How long a device may take to answer after start before its offline alarm rises (ms), per device. */
  startupGraceMs: (deviceId: string) => number;
}

interface Pending {
  to: boolean;
  value: PointValue;
  timer: ReturnType<typeof setTimeout>;
}

interface DeviceAlarms {
  offline: AlarmDefinition | undefined;
  /** Limit and discrete alarms by point. */
  byPoint: Map<string, AlarmDefinition[]>;
  quality: Map<string, AlarmDefinition>;
  online: boolean;
  /** Points whose reading is stale or bad now (only points with alarms). */
  notGood: Map<string, Quality>;
}

export class AlarmEvaluator implements DiffConsumer {
  readonly name = 'alarms';
  private devices = new Map<string, DeviceAlarms>();
  private readonly pending = new Map<string, Pending>();
  diffs = 0;

  constructor(private readonly options: EvaluatorOptions) {}

  /** Sets the alarms to evaluate (at start and on reload); keeps what is known of devices that stay. */
  setDefinitions(definitions: readonly AlarmDefinition[]): void {
    const next = new Map<string, DeviceAlarms>();
    for (const d of definitions) {
      let dev = next.get(d.device_id);
      if (dev === undefined) {
        const old = this.devices.get(d.device_id);
        dev = { offline: undefined, byPoint: new Map(), quality: new Map(), online: old?.online ?? this.options.registry.snapshot(d.device_id)?.online ?? false, notGood: old?.notGood ?? new Map() };
        next.set(d.device_id, dev);
      }
      if (d.kind === 'offline') dev.offline = d;
      else if (d.kind === 'quality') dev.quality.set(d.point!, d);
      else dev.byPoint.set(d.point!, [...(dev.byPoint.get(d.point!) ?? []), d]);
    }
    const ids = new Set(definitions.map((d) => d.id));
    for (const [id, p] of this.pending) {
      if (ids.has(id)) continue;
      clearTimeout(p.timer);
      this.pending.delete(id);
    }
    this.devices = next;
    this.evaluateHeld(definitions);
  }

  /**
   * A new or changed definition (a reload) meets values that came before it: evaluate it on
   * what the registry holds now, where that is a good reading, instead of waiting for a change.
   */
  private evaluateHeld(definitions: readonly AlarmDefinition[]): void {
    const snaps = new Map<string, ReturnType<Registry['snapshot']>>();
    for (const d of definitions) {
      if (d.point === null || d.kind === 'quality') continue;
      if (!snaps.has(d.device_id)) snaps.set(d.device_id, this.options.registry.snapshot(d.device_id));
      const snap = snaps.get(d.device_id);
      if (snap === undefined || !snap.online || snap.quality[d.point] !== 'good') continue;
      const value = snap.state[d.point];
      if (value !== undefined) this.drive(d, valueCondition(d, value, this.options.table.isActive(d.id)), value);
    }
  }

  async start(): Promise<void> {
    // A device that never answers after start sends no diff: its offline alarm waits for a grace.
    for (const [id, dev] of this.devices) {
      if (dev.offline === undefined || dev.online) continue;
      this.drive(dev.offline, true, null, Math.max(dev.offline.onDelayMs, this.options.startupGraceMs(id)));
    }
  }

  async stop(): Promise<void> {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }

  forget(deviceId: string): void {
    const dev = this.devices.get(deviceId);
    if (dev === undefined) return;
    for (const d of this.definitionsOf(dev)) this.cancel(d.id);
    this.devices.delete(deviceId);
  }

  health(): ConsumerHealth {
    return { ok: true, counters: { diffs: this.diffs, pending_delays: this.pending.size } };
  }

  onDiff(diff: DeviceDiff): void {
    const dev = this.devices.get(diff.device_id);
    if (dev === undefined) return;
    this.diffs++;
    const online = diff.new_state['online'];
    if (typeof online === 'boolean' && !dev.byPoint.has('online')) this.reachability(dev, online);
    if (diff.quality !== undefined) {
      for (const point in diff.quality) this.quality(dev, diff.device_id, point, diff.quality[point]!);
    }
    for (const point in diff.new_state) {
      const defs = dev.byPoint.get(point);
      if (defs === undefined) continue;
      // A value in a diff is a good reading (the registry marks it so).
      const value = diff.new_state[point] as PointValue;
      for (const d of defs) this.drive(d, valueCondition(d, value, this.options.table.isActive(d.id)), value);
    }
  }

  private reachability(dev: DeviceAlarms, online: boolean): void {
    dev.online = online;
    if (dev.offline !== undefined) this.drive(dev.offline, !online, online);
    if (!online) {
      // Everything the device had is stale now: hold the point alarms, and let the offline alarm speak.
      for (const defs of dev.byPoint.values()) for (const d of defs) this.cancel(d.id);
      for (const q of dev.quality.values()) this.drive(q, false, null);
    }
  }

  private quality(dev: DeviceAlarms, deviceId: string, point: string, q: Quality): void {
    const qd = dev.quality.get(point);
    const defs = dev.byPoint.get(point);
    if (qd === undefined && defs === undefined) return;
    if (q === 'good') {
      const was = dev.notGood.delete(point);
      if (qd !== undefined) this.drive(qd, false, q);
      // Good again with the same value (no value in the diff): evaluate what the registry holds.
      if (was && defs !== undefined) {
        const value = this.options.registry.snapshot(deviceId)?.state[point];
        if (value !== undefined) for (const d of defs) this.drive(d, valueCondition(d, value, this.options.table.isActive(d.id)), value);
      }
      return;
    }
    dev.notGood.set(point, q);
    for (const d of defs ?? []) this.cancel(d.id);
    if (qd !== undefined) this.drive(qd, dev.online, q);
  }

  /** Moves an alarm's condition towards `desired`, through its on- or off-delay. */
  private drive(d: AlarmDefinition, desired: boolean, value: PointValue, delayMs?: number): void {
    const { table } = this.options;
    const p = this.pending.get(d.id);
    if (desired === table.isActive(d.id)) {
      if (p !== undefined) this.cancel(d.id);
      return;
    }
    if (p !== undefined && p.to === desired) {
      p.value = value;
      return;
    }
    if (p !== undefined) this.cancel(d.id);
    const delay = delayMs ?? (desired ? d.onDelayMs : d.offDelayMs);
    if (delay <= 0) {
      table.condition(d.id, desired, value);
      return;
    }
    const pending: Pending = {
      to: desired,
      value,
      timer: setTimeout(() => {
        this.pending.delete(d.id);
        table.condition(d.id, desired, pending.value);
      }, delay),
    };
    pending.timer.unref?.();
    this.pending.set(d.id, pending);
  }

  private cancel(id: string): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
  }

  private *definitionsOf(dev: DeviceAlarms): Iterable<AlarmDefinition> {
    if (dev.offline !== undefined) yield dev.offline;
    for (const defs of dev.byPoint.values()) yield* defs;
    yield* dev.quality.values();
  }
}
