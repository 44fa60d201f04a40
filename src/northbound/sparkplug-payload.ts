/**
 * Sparkplug B payloads: the specification's sparkplug_b.proto, encoded and decoded by protobufjs
 * (no hand-rolled protobuf), and the mapping of gateway points to Sparkplug metrics.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { PointMeta, PointValue, Quality } from '../core/points.js';

/** Sparkplug data types (Metric.datatype, PropertyValue.type), from the specification. */
export const DataType = {
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
  Text: 14,
} as const;

/** Ignition's quality codes, the de facto `Quality` metric property of Sparkplug hosts. */
export const QUALITY_CODE: Record<Quality, number> = { good: 192, stale: 500, bad: 0, uncertain: 64 };

export interface PropertyValue {
  type: number;
  isNull?: boolean;
  intValue?: number;
  longValue?: number;
  floatValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
}

export interface Metric {
  name?: string;
  alias?: number;
  timestamp?: number;
  datatype?: number;
  isHistorical?: boolean;
  isNull?: boolean;
  properties?: { keys: string[]; values: PropertyValue[] };
  intValue?: number;
  longValue?: number;
  floatValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
  bytesValue?: Uint8Array;
}

export interface Payload {
  timestamp?: number;
  metrics: Metric[];
  seq?: number;
}

let payloadType: protobuf.Type | undefined;

/** Where the .proto is: next to this file's source (src/northbound), from src/ or dist/src/. */
export function protoFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'src', 'northbound', 'sparkplug_b.proto');
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new Error('sparkplug_b.proto not found next to the program (src/northbound/sparkplug_b.proto)');
    dir = up;
  }
}

function type(): protobuf.Type {
  payloadType ??= protobuf.loadSync(protoFile()).lookupType('org.eclipse.tahu.protobuf.Payload');
  return payloadType;
}

export function encodePayload(p: Payload): Buffer {
  const t = type();
  const bytes = t.encode(t.fromObject(p)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes a payload; throws on bytes that are not one. */
export function decodePayload(buf: Uint8Array): Payload {
  const t = type();
  const msg = t.decode(buf);
  return t.toObject(msg, { longs: Number, bytes: Buffer }) as Payload;
}

/** The Sparkplug datatype of a point. */
export function datatypeOf(meta: PointMeta): number {
  switch (meta.type) {
    case 'boolean':
      return DataType.Boolean;
    case 'string':
      return DataType.String;
    case 'enum':
      return intType(meta.source_type) ?? DataType.Int32;
    case 'integer': {
      const t = intType(meta.source_type);
      if (t !== undefined) return t;
      const fits32 = meta.min !== undefined && meta.max !== undefined && meta.min >= -2147483648 && meta.max <= 2147483647;
      return fits32 ? DataType.Int32 : DataType.Int64;
    }
    case 'number':
      return meta.source_type === 'float32' ? DataType.Float : DataType.Double;
  }
}

function intType(source: PointMeta['source_type']): number | undefined {
  switch (source) {
    case 'int16':
      return DataType.Int16;
    case 'uint16':
      return DataType.UInt16;
    case 'int32':
      return DataType.Int32;
    case 'uint32':
      return DataType.UInt32;
    default:
      return undefined;
  }
}

/** Sets the value fields of a metric for a point value (null: is_null). */
export function setValue(m: Metric, datatype: number, meta: PointMeta, value: PointValue): void {
  if (value === null) {
    m.isNull = true;
    return;
  }
  let v: PointValue = value;
  if (meta.type === 'enum' && typeof v === 'string') {
    const i = (meta.enum ?? []).indexOf(v);
    v = meta.enum_codes?.[i] ?? i;
  }
  switch (datatype) {
    case DataType.Boolean:
      m.booleanValue = Boolean(v);
      return;
    case DataType.String:
    case DataType.Text:
      m.stringValue = String(v);
      return;
    case DataType.Float:
      m.floatValue = Number(v);
      return;
    case DataType.Double:
      m.doubleValue = Number(v);
      return;
    case DataType.Int8:
    case DataType.Int16:
    case DataType.Int32:
      // Signed types travel in the uint32 field as two's complement (Sparkplug 3.0, 6.4.16).
      m.intValue = Number(v) >>> 0;
      return;
    case DataType.UInt8:
    case DataType.UInt16:
    case DataType.UInt32:
      m.intValue = Number(v);
      return;
    default:
      m.longValue = Number(v);
  }
}

/** The value a DCMD metric carries, as a gateway value for the point, or undefined when it carries none it could be. */
export function valueFor(meta: PointMeta, m: Metric): unknown {
  let raw: unknown;
  const datatype = m.datatype ?? datatypeOf(meta);
  if (m.booleanValue !== undefined) raw = m.booleanValue;
  else if (m.stringValue !== undefined) raw = m.stringValue;
  else if (m.floatValue !== undefined) raw = m.floatValue;
  else if (m.doubleValue !== undefined) raw = m.doubleValue;
  else if (m.intValue !== undefined) raw = datatype === DataType.Int8 || datatype === DataType.Int16 || datatype === DataType.Int32 ? m.intValue | 0 : m.intValue;
  else if (m.longValue !== undefined) raw = m.longValue;
  else return undefined;
  if (meta.type === 'enum' && typeof raw === 'number') {
    const i = meta.enum_codes !== undefined ? meta.enum_codes.indexOf(raw) : raw;
    return meta.enum?.[i] ?? raw;
  }
  return raw;
}

/** engUnit, engLow, engHigh, readOnly, enum labels and Quality: what a host shows without other configuration. */
export function birthProperties(meta: PointMeta, quality: Quality | undefined): { keys: string[]; values: PropertyValue[] } {
  const keys: string[] = [];
  const values: PropertyValue[] = [];
  if (meta.unit !== undefined) {
    keys.push('engUnit');
    values.push({ type: DataType.String, stringValue: meta.unit });
  }
  if (meta.min !== undefined && Number.isFinite(meta.min)) {
    keys.push('engLow');
    values.push({ type: DataType.Double, doubleValue: meta.min });
  }
  if (meta.max !== undefined && Number.isFinite(meta.max)) {
    keys.push('engHigh');
    values.push({ type: DataType.Double, doubleValue: meta.max });
  }
  keys.push('readOnly');
  values.push({ type: DataType.Boolean, booleanValue: meta.access !== 'rw' });
  if (meta.type === 'enum' && meta.enum !== undefined) {
    keys.push('enumLabels');
    values.push({ type: DataType.String, stringValue: meta.enum.map((label, i) => `${meta.enum_codes?.[i] ?? i}=${label}`).join(',') });
  }
  if (meta.description !== undefined) {
    keys.push('Documentation');
    values.push({ type: DataType.String, stringValue: meta.description });
  }
  keys.push('Quality');
  values.push(qualityValue(quality));
  return { keys, values };
}

export function qualityValue(quality: Quality | undefined): PropertyValue {
  // A point never read has no value: bad (0) until its first reading.
  return { type: DataType.Int32, intValue: QUALITY_CODE[quality ?? 'bad'] };
}
