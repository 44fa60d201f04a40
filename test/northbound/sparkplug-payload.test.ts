/** Points to Sparkplug metrics: datatypes, signed values, enums, and a round trip through protobufjs. */
import { describe, expect, test } from 'vitest';
import { DataType, birthProperties, datatypeOf, decodePayload, encodePayload, setValue, valueFor, type Metric } from '../../src/northbound/sparkplug-payload.js';
import type { PointMeta } from '../../src/core/points.js';

const modes: PointMeta = { type: 'enum', access: 'rw', enum: ['stopped', 'running', 'fault'], enum_codes: [0, 1, 7], source_type: 'uint16' };

describe('Sparkplug metrics of points', () => {
  test('datatypes follow the point and its register', () => {
    expect(datatypeOf({ type: 'boolean', access: 'r' })).toBe(DataType.Boolean);
    expect(datatypeOf({ type: 'string', access: 'r' })).toBe(DataType.String);
    expect(datatypeOf({ type: 'integer', access: 'r', source_type: 'int16' })).toBe(DataType.Int16);
    expect(datatypeOf({ type: 'integer', access: 'r', source_type: 'uint32' })).toBe(DataType.UInt32);
    expect(datatypeOf({ type: 'number', access: 'r', source_type: 'float32' })).toBe(DataType.Float);
    expect(datatypeOf({ type: 'number', access: 'r' })).toBe(DataType.Double);
    expect(datatypeOf({ type: 'integer', access: 'r', min: 0, max: 3000 })).toBe(DataType.Int32);
    expect(datatypeOf({ type: 'integer', access: 'r' })).toBe(DataType.Int64);
    expect(datatypeOf(modes)).toBe(DataType.UInt16);
  });

  test('a negative Int16 travels as two\'s complement and comes back negative; an enum as its code with the labels', () => {
    const meta: PointMeta = { type: 'integer', access: 'rw', source_type: 'int16' };
    const m: Metric = { name: 'offset', datatype: DataType.Int16 };
    setValue(m, DataType.Int16, meta, -5);
    const back = decodePayload(encodePayload({ metrics: [m] })).metrics[0]!;
    expect(back.intValue).toBe(0xfffffffb);
    expect(valueFor(meta, back)).toBe(-5);
    const e: Metric = { name: 'mode', datatype: DataType.UInt16 };
    setValue(e, DataType.UInt16, modes, 'fault');
    expect(e.intValue).toBe(7);
    expect(valueFor(modes, { intValue: 7, datatype: DataType.UInt16 })).toBe('fault');
    const props = birthProperties(modes, 'good');
    expect(props.values[props.keys.indexOf('enumLabels')]!.stringValue).toBe('0=stopped,1=running,7=fault');
    expect(props.values[props.keys.indexOf('Quality')]!.intValue).toBe(192);
    expect(birthProperties(modes, 'stale').values.at(-1)!.intValue).toBe(500);
    expect(birthProperties(modes, undefined).values.at(-1)!.intValue).toBe(0);
  });

  test('a value never read is is_null', () => {
    const m: Metric = { name: 'x' };
    setValue(m, DataType.Double, { type: 'number', access: 'r' }, null);
    expect(decodePayload(encodePayload({ metrics: [m] })).metrics[0]!.isNull).toBe(true);
  });
});
