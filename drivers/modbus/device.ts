/**
 * One configured Modbus unit: its resolved points (profile plus inline points), its read plan
 * and what was last published, for the deadband.
 */
import * as v from 'valibot';
import type { PointMap, PointValue } from '../../src/core/points.js';
import type { DeviceDescriptor } from '../../src/core/registry.js';
import { PROFILES } from '../profiles/index.js';
import { ModbusPointSchema, type ModbusDeviceConfig, type ModbusPointConfig } from './config.js';
import { placement } from '../../src/config/fields.js';
import { resolvePoint, type ResolvedPoint } from './codec.js';
import { ReadPlanner } from './planner.js';
import { BlockRests } from './block-rests.js';

export interface PollGroup {
  intervalMs: number;
  planner: ReadPlanner;
}

export interface ModbusDevice {
  cfg: ModbusDeviceConfig;
  desc: DeviceDescriptor;
  points: Map<string, ResolvedPoint>;
  /** Points read at one interval, each with its own read plan (a fast status block, a slow counter). */
  groups: PollGroup[];
  /** Blocks the unit leaves unanswered while it answers others, resting (see BlockRests). */
  blockRests: BlockRests;
  /** Last value published per point (the deadband compares against it). */
  published: Record<string, PointValue>;
  polls: number;
  failedPolls: number;
  exceptions: number;
  online: boolean;
  /** Control writes in progress: a poll meanwhile must not publish what the write will confirm. */
  writing: number;
  /** Count of control writes ever started (a poll compares it before and after). */
  writesStarted: number;
  /** The unit answered exception 01 to FC22: its bit points are written by read-modify-write. */
  noMaskWrite: boolean;
}

/**
 * The device's point configs: the profile's, minus the ones it excludes (`exclude:` or
 * `points: {name: null}`), then inline ones (which may override them), moved by the device's
 * `address_offset` (profile addresses are already those on the wire).
 */
export function devicePointConfigs(cfg: ModbusDeviceConfig): Record<string, ModbusPointConfig> {
  const out: Record<string, ModbusPointConfig> = {};
  if (cfg.profile !== undefined) {
    for (const [name, p] of Object.entries(PROFILES[cfg.profile].points)) out[name] = v.parse(ModbusPointSchema, p);
  }
  for (const name of cfg.exclude ?? []) delete out[name];
  const offset = cfg.address_offset ?? 0;
  for (const [name, p] of Object.entries(cfg.points ?? {})) {
    if (p === null) delete out[name];
    else out[name] = offset === 0 ? p : { ...p, address: p.address + offset };
  }
  return out;
}

export interface BuildOptions {
  maxGap: number;
  /** First rest of a block the unit leaves unanswered (ms). */
  blockRestFloorMs: number;
  /** Longest rest of a unit or block (ms). */
  backoffMaxMs: number;
}

export function buildDevice(cfg: ModbusDeviceConfig, driverId: string, options: BuildOptions): ModbusDevice {
  const points = new Map<string, ResolvedPoint>();
  const configs = devicePointConfigs(cfg);
  for (const [name, p] of Object.entries(configs)) points.set(name, resolvePoint(name, p, cfg));
  const groups = pollGroups(cfg, configs, points, options.maxGap);
  const meta: PointMap = {};
  for (const p of points.values()) meta[p.name] = p.meta;
  const profileType = cfg.profile === undefined ? undefined : PROFILES[cfg.profile].deviceType;
  return {
    cfg,
    desc: { id: cfg.id, name: cfg.name ?? cfg.id, device_type: cfg.type ?? profileType ?? 'modbus', driver: driverId, points: meta, ...placement(cfg) },
    points,
    groups,
    blockRests: new BlockRests({ floorMs: Math.max(cfg.poll_interval_ms, options.blockRestFloorMs), maxMs: options.backoffMaxMs }),
    published: {},
    polls: 0,
    failedPolls: 0,
    exceptions: 0,
    online: false,
    writing: 0,
    writesStarted: 0,
    noMaskWrite: false,
  };
}

/** The device's points grouped by poll interval (a point's own, else the device's), fastest first. */
function pollGroups(cfg: ModbusDeviceConfig, configs: Record<string, ModbusPointConfig>, points: Map<string, ResolvedPoint>, maxGap: number): PollGroup[] {
  const byInterval = new Map<number, ResolvedPoint[]>();
  for (const p of points.values()) {
    const interval = configs[p.name]!.poll_interval_ms ?? cfg.poll_interval_ms;
    byInterval.set(interval, [...(byInterval.get(interval) ?? []), p]);
  }
  return [...byInterval.entries()]
    .sort(([a], [b]) => a - b)
    .map(([intervalMs, members]) => ({
      intervalMs,
      planner: new ReadPlanner({
        points: members.map((p) => ({ name: p.name, table: p.table, address: p.address, count: p.count })),
        maxGap,
        ...(cfg.max_read_registers === undefined ? {} : { maxRegisters: cfg.max_read_registers }),
        ...(cfg.max_read_bits === undefined ? {} : { maxBits: cfg.max_read_bits }),
      }),
    }));
}
