/**
 * Turns the alarm config of every device (and the alarms its built-in profile brings) into
 * one flat list of alarm definitions, checked against the device's points. Every problem is
 * reported with its config path: `devices[2].alarms.points.current.hi: ...`.
 */
import * as v from 'valibot';
import type { PointMap, PointMeta, PointValue } from '../core/points.js';
import type { AlarmKind, AlarmPriority, AlarmView } from '../protocol/alarms.js';
import { PointAlarmsSchema, type DeviceAlarmsConfig, type PointAlarmsConfig, type PointAlarmsInput } from './config.js';

/** An alarm as configured: what its view shows of it (id, device, point, kind, priority, message), and how it is evaluated. */
export interface AlarmDefinition extends Pick<AlarmView, 'id' | 'device_id' | 'point' | 'kind' | 'priority' | 'message'> {
  ackRequired: boolean;
  unit: string | null;
  /** hi/hihi/lo/lolo: the limit; discrete: the value that is the alarm (a code for `codes`). */
  limit: PointValue;
  deadband: number;
  onDelayMs: number;
  offDelayMs: number;
}

/** What the definitions need to know of one configured device. */
export interface AlarmDeviceInput {
  id: string;
  name: string;
  /** Index in `devices:` for the error paths. */
  index: number;
  points: PointMap;
  alarms: DeviceAlarmsConfig | undefined;
  /** Alarms of the device's built-in profile (a device's own entry for a point replaces them). */
  profileAlarms?: Record<string, PointAlarmsInput> | undefined;
  poll_interval_ms: number;
}

export interface DefinitionsResult {
  definitions: AlarmDefinition[];
  problems: string[];
}

const LIMIT_KINDS = ['lolo', 'lo', 'hi', 'hihi'] as const;
const DEFAULT_PRIORITY: Record<(typeof LIMIT_KINDS)[number], AlarmPriority> = { hihi: 'high', hi: 'medium', lo: 'medium', lolo: 'high' };
const KIND_WORD: Record<(typeof LIMIT_KINDS)[number], string> = { hihi: 'very high', hi: 'high', lo: 'low', lolo: 'very low' };

export function buildDefinitions(devices: readonly AlarmDeviceInput[]): DefinitionsResult {
  const definitions: AlarmDefinition[] = [];
  const problems: string[] = [];
  for (const d of devices) {
    const base = `devices[${d.index}].alarms`;
    const offline = d.alarms?.offline;
    if (offline !== false) {
      definitions.push({
        id: `${d.id}.offline`,
        device_id: d.id,
        point: null,
        kind: 'offline',
        priority: offline?.priority ?? 'high',
        message: offline?.message ?? `${d.name} is offline (does not answer)`,
        ackRequired: offline?.ack_required ?? true,
        unit: null,
        limit: null,
        deadband: 0,
        onDelayMs: offline?.on_delay_ms ?? 0,
        offDelayMs: 0,
      });
    }
    const own = d.alarms?.points ?? {};
    const merged: Record<string, { cfg: PointAlarmsConfig; path: string }> = {};
    for (const [point, input] of Object.entries(d.profileAlarms ?? {})) {
      if (Object.hasOwn(own, point)) continue;
      merged[point] = { cfg: v.parse(PointAlarmsSchema, input), path: `${base}.points.${point} (from the profile)` };
    }
    for (const [point, cfg] of Object.entries(own)) {
      if (cfg !== false) merged[point] = { cfg, path: `${base}.points.${point}` };
    }
    for (const [point, { cfg, path }] of Object.entries(merged)) {
      const meta = Object.hasOwn(d.points, point) ? d.points[point] : undefined;
      if (meta === undefined) {
        const names = Object.keys(d.points);
        problems.push(`${path}: ${d.id} has no point "${point}"; its points: ${names.length > 0 ? names.join(', ') : 'none'}`);
        continue;
      }
      pointDefinitions(d, point, meta, cfg, path, definitions, problems);
    }
  }
  return { definitions, problems };
}

function pointDefinitions(d: AlarmDeviceInput, point: string, meta: PointMeta, cfg: PointAlarmsConfig, path: string, out: AlarmDefinition[], problems: string[]): void {
  const unit = meta.unit ?? null;
  const u = unit === null ? '' : ` ${unit}`;
  const numeric = meta.type === 'number' || meta.type === 'integer';
  const deadband = cfg.deadband ?? 0;
  const common = { device_id: d.id, point, unit, deadband, onDelayMs: cfg.on_delay_ms ?? 0, offDelayMs: cfg.off_delay_ms ?? 0 };
  const limits = LIMIT_KINDS.filter((k) => cfg[k] !== undefined);
  if (limits.length > 0 && !numeric) {
    problems.push(`${path}.${limits[0]}: limits need a numeric point; ${d.id}.${point} is ${meta.type === 'enum' ? 'an enum' : `a ${meta.type}`} (use discrete or codes)`);
  } else {
    checkLimits(d, point, meta, cfg, path, problems);
    for (const kind of limits) {
      const l = cfg[kind]!;
      out.push({
        ...common,
        id: `${d.id}.${point}.${kind}`,
        kind,
        priority: l.priority ?? DEFAULT_PRIORITY[kind],
        message: l.message ?? `${d.name}: ${point} ${KIND_WORD[kind]} (${kind.startsWith('h') ? '≥' : '≤'} ${l.limit}${u})`,
        ackRequired: l.ack_required ?? true,
        limit: l.limit,
      });
    }
  }
  if (cfg.discrete !== undefined) {
    const when = discreteValue(meta, cfg.discrete.when);
    if (typeof when === 'string' && when.startsWith('!')) problems.push(`${path}.discrete.when: ${when.slice(1)}`);
    else {
      out.push({
        ...common,
        id: `${d.id}.${point}.discrete`,
        kind: 'discrete',
        priority: cfg.discrete.priority ?? 'high',
        message: cfg.discrete.message ?? `${d.name}: ${point} is ${String(when)}`,
        ackRequired: cfg.discrete.ack_required ?? true,
        limit: when,
      });
    }
  }
  for (const [code, c] of Object.entries(cfg.codes ?? {})) {
    const value = discreteValue(meta, meta.type === 'enum' || meta.type === 'string' ? code : Number(code));
    if (typeof value === 'string' && value.startsWith('!')) {
      problems.push(`${path}.codes[${JSON.stringify(code)}]: ${value.slice(1)}`);
      continue;
    }
    out.push({
      ...common,
      id: `${d.id}.${point}.${code}`,
      kind: 'discrete',
      priority: c.priority ?? 'high',
      message: c.message ?? `${d.name}: ${point} ${code}`,
      ackRequired: c.ack_required ?? true,
      limit: value,
    });
  }
  const anyAlarm = limits.length > 0 || cfg.discrete !== undefined || Object.keys(cfg.codes ?? {}).length > 0;
  if (anyAlarm && cfg.quality !== false) {
    // A point worth an alarm is worth knowing when its reading cannot be trusted (see evaluator.ts).
    out.push({
      ...common,
      id: `${d.id}.${point}.quality`,
      kind: 'quality',
      priority: cfg.quality?.priority ?? 'low',
      message: cfg.quality?.message ?? `${d.name}: ${point} reading is not current (stale or bad); its alarms are held`,
      ackRequired: cfg.quality?.ack_required ?? true,
      limit: null,
      deadband: 0,
      onDelayMs: cfg.quality?.on_delay_ms ?? 0,
      offDelayMs: 0,
    });
  }
}

/** The limits in order lolo < lo < hi < hihi, inside the point's range, and a deadband that fits between them. */
function checkLimits(d: AlarmDeviceInput, point: string, meta: PointMeta, cfg: PointAlarmsConfig, path: string, problems: string[]): void {
  const given = LIMIT_KINDS.filter((k) => cfg[k] !== undefined).map((k) => ({ kind: k, limit: cfg[k]!.limit }));
  for (let i = 1; i < given.length; i++) {
    const lower = given[i - 1]!;
    const upper = given[i]!;
    if (!(lower.limit < upper.limit)) {
      problems.push(`${path}.${upper.kind}: limits out of order: ${upper.kind} (${upper.limit}) must be above ${lower.kind} (${lower.limit}); the order is lolo < lo < hi < hihi`);
    }
  }
  const u = meta.unit ? ` ${meta.unit}` : '';
  for (const { kind, limit } of given) {
    if (meta.max !== undefined && limit > meta.max) problems.push(`${path}.${kind}: ${limit}${u} is above ${d.id}.${point}'s maximum ${meta.max}${u}: the alarm could never be raised`);
    if (meta.min !== undefined && limit < meta.min) problems.push(`${path}.${kind}: ${limit}${u} is below ${d.id}.${point}'s minimum ${meta.min}${u}: the alarm could never be raised`);
  }
  const deadband = cfg.deadband ?? 0;
  if (deadband === 0) return;
  const highs = given.filter((g) => g.kind === 'hi' || g.kind === 'hihi').map((g) => g.limit);
  const lows = given.filter((g) => g.kind === 'lo' || g.kind === 'lolo').map((g) => g.limit);
  if (highs.length > 0 && lows.length > 0) {
    const span = Math.min(...highs) - Math.max(...lows);
    if (deadband >= span) problems.push(`${path}.deadband: ${deadband}${u} is not smaller than the span between the low and high limits (${span}${u}): the alarms could never clear`);
  } else if (meta.min !== undefined && meta.max !== undefined && deadband >= meta.max - meta.min) {
    problems.push(`${path}.deadband: ${deadband}${u} is not smaller than the point's range (${meta.min}-${meta.max}${u})`);
  }
}

/** The value a discrete alarm watches for, in the point's own form, or "!why" when it cannot occur. */
function discreteValue(meta: PointMeta, when: PointValue): PointValue {
  switch (meta.type) {
    case 'boolean':
      return typeof when === 'boolean' ? when : `!the point is a boolean: use true or false, not ${JSON.stringify(when)}`;
    case 'enum':
      return typeof when === 'string' && (meta.enum ?? []).includes(when) ? when : `!${JSON.stringify(when)} is not one of the point's values: ${(meta.enum ?? []).join(', ')}`;
    case 'number':
    case 'integer':
      return typeof when === 'number' && Number.isFinite(when) ? when : `!the point is a number: use a number, not ${JSON.stringify(when)}`;
    case 'string':
      return typeof when === 'string' ? when : `!the point is a string: use a string, not ${JSON.stringify(when)}`;
  }
}
