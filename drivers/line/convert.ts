/**
 * Text <-> value conversion of line-protocol points, and the metadata every point declares.
 * Pure functions: the driver and the config checks share them.
 */
import type { PointMeta, PointValue } from '../../src/core/points.js';
import type { LinePointConfig } from './config.js';

const TRUE_WORDS = ['1', 'true', 'on', 'yes'];
const FALSE_WORDS = ['0', 'false', 'off', 'no'];

export function pointMeta(cfg: LinePointConfig): PointMeta {
  const meta = kindMeta(cfg);
  return cfg.confirm === undefined ? meta : { ...meta, confirm: cfg.confirm };
}

function kindMeta(cfg: LinePointConfig): PointMeta {
  const base = { access: cfg.access, unit: cfg.unit, min: cfg.min, max: cfg.max, description: cfg.description };
  switch (cfg.type) {
    case 'int':
      // A fractional scale turns whole raw counts into fractional engineering values.
      return { ...base, type: Number.isInteger(cfg.scale) && Number.isInteger(cfg.offset) ? 'integer' : 'number' };
    case 'float':
      // The digits the device is written with are the digits it is shown with.
      return { ...base, type: 'number', decimals: cfg.decimals };
    case 'bool':
      return { type: 'boolean', access: cfg.access, description: cfg.description };
    case 'enum': {
      const raw = Object.keys(cfg.enum ?? {});
      // Raw texts that are all whole numbers ("0", "1") are codes a write may give instead of the label.
      const codes = raw.length > 0 && raw.every((t) => /^-?\d+$/.test(t)) ? raw.map(Number) : undefined;
      return { type: 'enum', access: cfg.access, enum: Object.values(cfg.enum ?? {}), ...(codes === undefined ? {} : { enum_codes: codes }), description: cfg.description };
    }
    case 'string':
      return { type: 'string', access: cfg.access, unit: cfg.unit, description: cfg.description };
  }
}

/** Raw captured text -> value; throws an Error saying why the text does not fit. */
export function parseValue(cfg: LinePointConfig, raw: string): PointValue {
  const t = raw.trim();
  switch (cfg.type) {
    case 'int': {
      if (!/^[+-]?\d+$/.test(t)) throw new Error(`"${t}" is not a whole number`);
      return scaled(cfg, Number.parseInt(t, 10));
    }
    case 'float': {
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) throw new Error(`"${t}" is not a number`);
      return scaled(cfg, Number.parseFloat(t));
    }
    case 'bool': {
      const lower = t.toLowerCase();
      if (t === cfg.true_text || TRUE_WORDS.includes(lower)) return true;
      if (t === cfg.false_text || FALSE_WORDS.includes(lower)) return false;
      throw new Error(`"${t}" is not a boolean (${cfg.true_text}/${cfg.false_text})`);
    }
    case 'enum': {
      const label = cfg.enum?.[t];
      if (label === undefined) throw new Error(`"${t}" is none of ${Object.keys(cfg.enum ?? {}).join(', ')}`);
      return label;
    }
    case 'string':
      return raw;
  }
}

/** Validated value -> the raw text put into the write template. */
export function formatValue(cfg: LinePointConfig, value: PointValue): string {
  switch (cfg.type) {
    case 'int': {
      const raw = Math.round(((value as number) - cfg.offset) / cfg.scale);
      return String(raw);
    }
    case 'float': {
      const raw = ((value as number) - cfg.offset) / cfg.scale;
      return cfg.decimals === undefined ? String(raw) : raw.toFixed(cfg.decimals);
    }
    case 'bool':
      return value === true ? cfg.true_text : cfg.false_text;
    case 'enum': {
      const hit = Object.entries(cfg.enum ?? {}).find(([, label]) => label === value);
      if (hit === undefined) throw new Error(`"${String(value)}" is not a label of this enum`);
      return hit[0];
    }
    case 'string':
      return String(value);
  }
}

function scaled(cfg: LinePointConfig, raw: number): number {
  const v = raw * cfg.scale + cfg.offset;
  // Keep 1.2 * 10 from showing up as 12.000000000000002.
  return Number.parseFloat(v.toPrecision(12));
}

/**
 * Which capture group of `pattern` holds this point: the configured one, else a named group
 * called like the point, else group 1.
 */
export function groupOf(name: string, pattern: string, group: string | number | undefined): string | number {
  if (group !== undefined) return group;
  if (pattern.includes(`(?<${name}>`)) return name;
  return 1;
}

/** Number of capture groups in a compiled regex. */
export function groupCount(re: RegExp): number {
  return (new RegExp(`${re.source}|`, re.flags).exec('')?.length ?? 1) - 1;
}

/** The captured text of `group` in a match, or undefined when the group did not take part. */
export function captured(m: RegExpExecArray, group: string | number): string | undefined {
  return typeof group === 'number' ? m[group] : m.groups?.[group];
}
