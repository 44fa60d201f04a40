/**
 * Point codec, framing adapters and config checks of the Modbus driver (unit tests of one layer
 * each; the peer tests under test/integration cover the seams).
 */
import { EventEmitter } from 'node:events';
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import * as v from 'valibot';
import { ModbusPointSchema, type ModbusPointInput } from '../../drivers/modbus/config.js';
import { beyondDeadband, decodeRegisters, encodeField, encodeRegisters, resolvePoint } from '../../drivers/modbus/codec.js';
import { RtuFraming, TcpFraming } from '../../drivers/modbus/framing.js';
import { crc16 } from '../../drivers/modbus/crc.js';
import { groupWrites } from '../../drivers/modbus/writes.js';
import type { Transport } from '../../drivers/bus/transport.js';
import { ConfigError, parseConfigText } from '../../src/config/load.js';

const point = (p: ModbusPointInput) => resolvePoint('p', v.parse(ModbusPointSchema, p));

describe('point codec', () => {
  const orders = ['big', 'little'] as const;
  test.each([
    ['int16', fc.integer({ min: -32768, max: 32767 })],
    ['uint16', fc.integer({ min: 0, max: 65535 })],
    ['int32', fc.integer({ min: -2147483648, max: 2147483647 })],
    ['uint32', fc.integer({ min: 0, max: 4294967295 })],
    ['float32', fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e30), max: Math.fround(1e30) }).map((x) => Number(Math.fround(x).toPrecision(7)))],
  ] as const)('%s survives encode then decode in every byte and word order', (type, values) => {
    for (const byte_order of orders) {
      for (const word_order of orders) {
        const p = point({ table: 'holding', address: 0, type, byte_order, word_order });
        fc.assert(
          fc.property(values, (x) => decodeRegisters(p, encodeRegisters(p, x)) === x),
          { numRuns: 100 },
        );
      }
    }
  });

  test('scale and offset apply both ways, rounded to what the scale can express', () => {
    const p = point({ table: 'holding', address: 0, type: 'int16', scale: 0.1, offset: -40 });
    expect(decodeRegisters(p, [653])).toBe(25.3);
    expect(encodeRegisters(p, 25.3)).toEqual([653]);
    expect(p.meta).toMatchObject({ type: 'number', min: -3316.8, max: 3236.7 });
  });

  test('a value that does not fit the register is refused', () => {
    const p = point({ table: 'holding', address: 0, type: 'uint16' });
    expect(() => encodeRegisters(p, 70000)).toThrow(/does not fit a uint16 register/);
  });

  test('enum labels map raw values; unknown raw values stay visible', () => {
    const p = point({ table: 'holding', address: 0, enum: { '0': 'off', '3': 'fault' } });
    expect(decodeRegisters(p, [3])).toBe('fault');
    expect(decodeRegisters(p, [7])).toBe('unknown_7');
    expect(encodeRegisters(p, 'off')).toEqual([0]);
    expect(p.meta).toMatchObject({ type: 'enum', enum: ['off', 'fault'] });
  });

  test('a bit of a register is read and changed without touching the other bits', () => {
    const p = point({ table: 'holding', address: 0, type: 'bit', bit: 9 });
    expect(decodeRegisters(p, [0x0200])).toBe(true);
    expect(encodeField(p, 0x00ff, true)).toBe(0x02ff);
    expect(encodeField(p, 0xffff, false)).toBe(0xfdff);
    const swapped = point({ table: 'holding', address: 0, type: 'bit', bit: 9, byte_order: 'little' });
    expect(decodeRegisters(swapped, [0x0002])).toBe(true);
    expect(encodeField(swapped, 0x0000, true)).toBe(0x0002);
  });

  test('deadband suppresses small changes of numbers only', () => {
    const p = point({ table: 'holding', address: 0, deadband: 0.5 });
    expect(beyondDeadband(p, 10, 10.4)).toBe(false);
    expect(beyondDeadband(p, 10, 10.5)).toBe(true);
    expect(beyondDeadband(p, undefined, 10)).toBe(true);
  });
});

describe('write grouping', () => {
  test('adjacent coils become one FC15, adjacent registers one FC16, never across a gap, bits alone', () => {
    const item = (name: string, p: ModbusPointInput, value: number | boolean) => ({ point: resolvePoint(name, v.parse(ModbusPointSchema, p)), value });
    const groups = groupWrites([
      item('c5', { table: 'coil', address: 5, access: 'rw' }, true),
      item('c4', { table: 'coil', address: 4, access: 'rw' }, false),
      item('c7', { table: 'coil', address: 7, access: 'rw' }, true),
      item('f', { table: 'holding', address: 10, type: 'float32', access: 'rw' }, 1.5),
      item('u', { table: 'holding', address: 12, access: 'rw' }, 3),
      item('b', { table: 'holding', address: 13, type: 'bit', bit: 0, access: 'rw' }, true),
      item('w', { table: 'holding', address: 20, access: 'rw' }, 4),
    ]);
    expect(groups.map((g) => (g.kind === 'field' ? `bit ${g.items[0].point.name}` : `${g.kind} ${g.address}+${g.count}`))).toEqual([
      'coils 4+2',
      'coils 7+1',
      'registers 10+3',
      'bit b',
      'registers 20+1',
    ]);
  });
});

class Wire extends EventEmitter implements Transport {
  readonly description = 'wire';
  readonly isOpen = true;
  sent: Buffer[] = [];
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  write(data: Buffer): void {
    this.sent.push(data);
  }
}

function rtu(bytes: number[]): Buffer {
  const b = Buffer.from([...bytes, 0, 0]);
  b.writeUInt16LE(crc16(b.subarray(0, b.length - 2)), b.length - 2);
  return b;
}

describe('RTU framing', () => {
  test('reassembles a reply from fragments and drops bytes that came before the request', () => {
    const wire = new Wire();
    const f = new RtuFraming(wire);
    const frames: Buffer[] = [];
    f.on('data', (d: Buffer) => frames.push(d));
    wire.emit('data', Buffer.from([0x01, 0x03, 0x02])); // a late reply to something older
    f.write(rtu([0x01, 0x03, 0x00, 0x00, 0x00, 0x02]));
    const reply = rtu([0x01, 0x03, 0x04, 0x00, 0x0a, 0x00, 0x0b]);
    for (const chunk of [reply.subarray(0, 3), reply.subarray(3, 7), reply.subarray(7)]) wire.emit('data', chunk);
    expect(frames).toEqual([reply]);
    expect(f.counters.late_replies_dropped).toBe(1);
  });

  test('skips noise and a frame with a bad CRC; passes an exception reply', () => {
    const wire = new Wire();
    const f = new RtuFraming(wire);
    const frames: Buffer[] = [];
    f.on('data', (d: Buffer) => frames.push(d));
    f.write(rtu([0x05, 0x03, 0x00, 0x00, 0x00, 0x01]));
    const bad = rtu([0x05, 0x03, 0x02, 0x12, 0x34]);
    bad[3] = 0x99;
    wire.emit('data', Buffer.concat([Buffer.from([0x00, 0xff]), bad]));
    expect(frames).toEqual([]);
    const exception = rtu([0x05, 0x83, 0x02]);
    wire.emit('data', exception);
    expect(frames).toEqual([exception]);
  });

  test('nothing is an answer after the request was abandoned', () => {
    const wire = new Wire();
    const f = new RtuFraming(wire);
    const frames: Buffer[] = [];
    f.on('data', (d: Buffer) => frames.push(d));
    f.write(rtu([0x01, 0x03, 0x00, 0x00, 0x00, 0x01]));
    f.abandon();
    wire.emit('data', rtu([0x01, 0x03, 0x02, 0x00, 0x01]));
    expect(frames).toEqual([]);
  });
});

describe('TCP framing', () => {
  test('passes only the reply with the outstanding transaction id and restores the unit byte', () => {
    const wire = new Wire();
    const f = new TcpFraming(wire);
    const frames: Buffer[] = [];
    f.on('data', (d: Buffer) => frames.push(d));
    f.write(rtu([0x07, 0x03, 0x00, 0x10, 0x00, 0x01]));
    const tid = wire.sent[0]!.readUInt16BE(0);
    const mbap = (t: number, unit: number, pdu: number[]) => Buffer.from([t >> 8, t & 0xff, 0, 0, 0, pdu.length + 1, unit, ...pdu]);
    const wrong = mbap(tid + 1, 0x07, [0x03, 0x02, 0x00, 0x01]);
    const right = mbap(tid, 0xff, [0x03, 0x02, 0x00, 0x2a]);
    // Both arrive in one chunk, the right one split in two.
    wire.emit('data', Buffer.concat([wrong, right.subarray(0, 5)]));
    wire.emit('data', right.subarray(5));
    expect(frames).toEqual([rtu([0x07, 0x03, 0x02, 0x00, 0x2a])]);
    expect(f.counters.late_replies_dropped).toBe(1);
  });
});

describe('Modbus config checks', () => {
  const base = `
buses:
  - { id: line1, kind: rtu, port: /dev/ttyUSB0 }
devices:
`;
  const problems = (devices: string): string[] => {
    try {
      parseConfigText(base + devices);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };

  test('a valid profile device passes', () => {
    expect(problems('  - { id: d, driver: modbus, bus: line1, unit: 1, profile: sdm120 }\n')).toEqual([]);
  });

  test('each mistake is reported with its path and what to do', () => {
    expect(
      problems(`  - { id: a, driver: modbus, bus: line2, unit: 1, profile: vfd }
  - id: b
    driver: modbus
    bus: line1
    unit: 1
    points:
      t: { table: input, address: 0, type: float32, access: rw }
      u: { table: input, address: 1 }
      x: { table: holding, address: 65535, type: uint32 }
  - { id: c, driver: modbus, bus: line1, unit: 256, profile: vfd }
`),
    ).toEqual([
      // One run: the schema problem, and the cross-checks of the entries that pass the schema.
      'devices[2].unit: must be <= 255',
      'devices[0].bus: no bus "line2" under buses: (known: line1)',
      'devices[1].points.t.access: input registers are read-only in Modbus; a writable point must be a holding register',
      'devices[1].points.x.address: a uint32 at 65535 runs past the last address 65535',
      'devices[1].points.u.address: overlaps point t (input 0-1)',
    ]);
    expect(
      problems(`  - { id: a, driver: modbus, bus: line2, unit: 1, profile: vfd }
  - id: b
    driver: modbus
    bus: line1
    unit: 1
    points:
      t: { table: input, address: 0, type: float32, access: rw }
      u: { table: input, address: 1 }
      x: { table: holding, address: 65535, type: uint32 }
  - { id: c, driver: modbus, bus: line1, unit: 1, profile: vfd }
`),
    ).toEqual([
      'devices[0].bus: no bus "line2" under buses: (known: line1)',
      'devices[1].points.t.access: input registers are read-only in Modbus; a writable point must be a holding register',
      'devices[1].points.x.address: a uint32 at 65535 runs past the last address 65535',
      'devices[1].points.u.address: overlaps point t (input 0-1)',
      'devices[2].unit: unit 1 on bus "line1" is already devices[1]; every unit on a line needs its own id',
    ]);
  });
});
