/**
 * Point metadata and the write validation every driver shares. A point is one named value of a
 * device ("speed", "running", "temperature"). Drivers declare their points with this metadata;
 * the control service checks every write against it before a driver sees the value.
 */
import { GatewayError } from './errors.js';

/**
 * The value, quality and metadata shapes are wire shapes: declared once in src/protocol/wire.ts.
 * Quality, as OPC UA status codes and Sparkplug's `is_stale` say it:
 * - `good`: the device's value as of its last successful read;
 * - `stale`: the last good value, kept, but the read that should have refreshed it failed (its
 *   block timed out, the unit or the whole line is silent, the device is offline);
 * - `bad`: the device answered but the value cannot be used (a Modbus exception, a reply that
 *   does not decode, a value outside the point's declared physical range with `range_check`);
 * - `uncertain`: reserved for a value that is not confirmed by a read. The gateway never shows
 *   one today: a write's value is published only once it has been read back.
 * A point's value and timestamp always stay those of the last good reading; quality says whether
 * that reading is still current.
 */
import type { Access, PointMeta, PointType, PointValue, Quality } from '../protocol/wire.js';

export type { Access, PointMeta, PointType, PointValue, Quality };

export type PointMap = Record<string, PointMeta>;

/** Checks one requested value against its point and returns it in canonical form. */
export function validatePointWrite(deviceId: string, name: string, meta: PointMeta | undefined, value: unknown): PointValue {
  const where = `${deviceId}.${name}`;
  if (meta === undefined) {
    throw new GatewayError('validation_error', `${where}: unknown point`, { details: { point: name, rule: 'unknown_point' } });
  }
  if (meta.access !== 'rw') {
    throw new GatewayError('validation_error', `${where}: point is read-only`, { details: { point: name, rule: 'read_only' } });
  }
  const wrongType = (expected: string) =>
    new GatewayError('validation_error', `${where}: must be ${expected}, got ${describe(value)}`, {
      details: { point: name, rule: 'type' },
    });
  switch (meta.type) {
    case 'boolean':
      if (typeof value !== 'boolean') throw wrongType('a boolean (true or false)');
      return value;
    case 'string':
      if (typeof value !== 'string') throw wrongType('a string');
      return value;
    case 'enum': {
      const labels = meta.enum ?? [];
      const code = typeof value === 'number' ? (meta.enum_codes?.indexOf(value) ?? -1) : -1;
      if (code >= 0 && code < labels.length) return labels[code]!;
      if (typeof value !== 'string' || !labels.includes(value)) {
        throw new GatewayError('validation_error', `${where}: must be one of ${enumChoices(meta)}, got ${describe(value)}`, {
          details: { point: name, rule: 'enum' },
        });
      }
      return value;
    }
    case 'number':
    case 'integer': {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw wrongType(meta.type === 'integer' ? 'an integer' : 'a finite number');
      if (meta.type === 'integer' && !Number.isInteger(value)) throw wrongType('an integer');
      if (meta.min !== undefined && value < meta.min) {
        throw new GatewayError('validation_error', `${where}: ${value} is below the minimum ${meta.min}${unit(meta)}`, {
          details: { point: name, rule: 'min' },
        });
      }
      if (meta.max !== undefined && value > meta.max) {
        throw new GatewayError('validation_error', `${where}: ${value} is above the maximum ${meta.max}${unit(meta)}`, {
          details: { point: name, rule: 'max' },
        });
      }
      return value;
    }
  }
}

/** "stopped (0), running (1)", or the labels alone when they have no codes. */
function enumChoices(meta: PointMeta): string {
  const codes = meta.enum_codes;
  return (meta.enum ?? []).map((label, i) => (codes?.[i] === undefined ? label : `${label} (${codes[i]})`)).join(', ');
}

function unit(meta: PointMeta): string {
  return meta.unit ? ` ${meta.unit}` : '';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
