/**
 * Point metadata and the write validation every driver shares. A point is one named value of a
 * device ("speed", "running", "temperature"). Drivers declare their points with this metadata;
 * the control service checks every write against it before a driver sees the value.
 */
import { GatewayError } from './errors.js';

export type PointValue = number | boolean | string | null;
export type PointType = 'number' | 'integer' | 'boolean' | 'string' | 'enum';
export type Access = 'r' | 'rw';

export interface PointMeta {
  type: PointType;
  access: Access;
  unit?: string | undefined;
  min?: number | undefined;
  max?: number | undefined;
  /** For type 'enum': the allowed labels. Values are the labels themselves. */
  enum?: readonly string[] | undefined;
  description?: string | undefined;
}

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
    case 'enum':
      if (typeof value !== 'string' || !(meta.enum ?? []).includes(value)) {
        throw new GatewayError('validation_error', `${where}: must be one of ${(meta.enum ?? []).join(', ')}, got ${describe(value)}`, {
          details: { point: name, rule: 'enum' },
        });
      }
      return value;
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
