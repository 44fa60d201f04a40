/**
 * Config of Modbus devices: dropping profile points (`points: {name: null}`, `exclude:`) and
 * `range_check`, each mistake reported with its path.
 */
import { describe, expect, test } from 'vitest';
import { ConfigError, parseConfigText } from '../../src/config/load.js';
import { devicePointConfigs } from '../../drivers/modbus/device.js';
import type { ModbusDeviceConfig } from '../../drivers/modbus/config.js';

const base = `
buses:
  - { id: line1, kind: rtu, port: /dev/ttyUSB0 }
devices:
`;

function problems(devices: string): string[] {
  try {
    parseConfigText(base + devices);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('dropping points of a profile', () => {
  test('points: {name: null} and exclude: leave those points out; inline points still override', () => {
    const cfg = parseConfigText(`${base}  - id: drive
    driver: modbus
    bus: line1
    unit: 1
    profile: vfd
    exclude: [dc_bus_voltage]
    points:
      fault: null
      current: { table: input, address: 1, scale: 0.1, unit: A }
`);
    const points = devicePointConfigs(cfg.devices[0] as ModbusDeviceConfig);
    expect(Object.keys(points).sort()).toEqual(['actual_speed', 'current', 'running', 'speed']);
    expect(points['current']!.scale).toBe(0.1);
  });

  test('each mistake names its path and what to do', () => {
    expect(
      problems(`  - { id: a, driver: modbus, bus: line1, unit: 1, profile: vfd, points: { faults: null }, exclude: [speed, dc_bus] }
  - { id: b, driver: modbus, bus: line1, unit: 2, points: { v: { table: holding, address: 0 }, w: null }, exclude: [v] }
  - { id: c, driver: modbus, bus: line1, unit: 3, profile: vfd, exclude: [fault], points: { fault: { table: input, address: 9 } } }
  - { id: d, driver: modbus, bus: line1, unit: 4, profile: xy-md02, exclude: [temperature, humidity, temperature_correction] }
`),
    ).toEqual([
      'devices[0].points.faults: null drops a point of the profile, but there is no point "faults" in profile vfd (its points: running, speed, actual_speed, current, fault, dc_bus_voltage)',
      'devices[0].exclude[1]: no point "dc_bus" in profile vfd (its points: running, speed, actual_speed, current, fault, dc_bus_voltage)',
      'devices[1].points.w: null drops a point of the profile, but the device names no profile; remove the entry',
      'devices[1].exclude: drops points of the profile, but the device names no profile; remove it',
      'devices[2].exclude[0]: fault is excluded and also declared under points; keep one',
      'devices[3]: every point of profile xy-md02 is dropped; keep at least one or declare points',
    ]);
  });
});

describe('range_check', () => {
  test('needs a numeric point with a declared min or max', () => {
    expect(
      problems(`  - id: a
    driver: modbus
    bus: line1
    unit: 1
    points:
      ok: { table: holding, address: 0, min: -40, max: 125, range_check: true }
      no_range: { table: holding, address: 1, range_check: true }
      flag: { table: coil, address: 0, range_check: true }
      mode: { table: holding, address: 2, enum: { 0: off, 1: on }, min: 0, max: 1, range_check: true }
      word: { table: holding, address: 3, range_check: yes }
`),
    ).toEqual(['devices[0].points.word.range_check: must be true or false']);
    expect(
      problems(`  - id: a
    driver: modbus
    bus: line1
    unit: 1
    points:
      ok: { table: holding, address: 0, min: -40, max: 125, range_check: true }
      no_range: { table: holding, address: 1, range_check: true }
      flag: { table: coil, address: 0, range_check: true }
      mode: { table: holding, address: 2, enum: { 0: off, 1: on }, min: 0, max: 1, range_check: true }
`),
    ).toEqual([
      'devices[0].points.no_range.range_check: needs the physical range as min and/or max',
      'devices[0].points.flag.range_check: only numeric points have a range; remove it',
      'devices[0].points.mode.range_check: only numeric points have a range; remove it',
    ]);
  });
});

describe('write functions', () => {
  test('write_function and bit_write: wrong values and misplaced settings name their path', () => {
    expect(
      problems(`  - { id: a, driver: modbus, bus: line1, unit: 1, write_function: 15, points: { v: { table: holding, address: 0, bit_write: mask } } }
  - { id: b, driver: modbus, bus: line1, unit: 2, bit_write: atomic, points: { v: { table: holding, address: 0, type: bit, bit: 1, write_function: 5 } } }
`),
    ).toEqual([
      'devices[0].write_function: must be 6 or 16',
      'devices[1].bit_write: must be one of mask, read_modify_write',
      'devices[1].points.v.write_function: must be 6 or 16',
    ]);
    expect(problems(`  - { id: a, driver: modbus, bus: line1, unit: 1, points: { v: { table: holding, address: 0, bit_write: mask } } }\n`)).toEqual([
      'devices[0].points.v.bit_write: only points that are part of a register (type bit, int8, uint8, or bits:) take bit_write:',
    ]);
  });
});

describe('wider point types', () => {
  test('strings, bytes, bit fields and BCD: each mistake names its path', () => {
    expect(
      problems(`  - id: a
    driver: modbus
    bus: line1
    unit: 1
    points:
      s1: { table: holding, address: 0, type: string }
      s2: { table: holding, address: 10, type: string, length: 4, scale: 2 }
      n: { table: holding, address: 20, type: uint16, length: 4, trim: both }
      b1: { table: holding, address: 30, type: int8 }
      b2: { table: holding, address: 31, type: uint16, byte: low }
      f1: { table: holding, address: 40, type: int16, bits: 4-7 }
      f2: { table: holding, address: 41, bits: 7-4 }
      f3: { table: holding, address: 42, bits: 0-15 }
      o1: { table: holding, address: 50, bits: 0-7 }
      o2: { table: holding, address: 50, type: uint8, byte: low }
      o3: { table: holding, address: 50, bits: 8-11 }
      o4: { table: holding, address: 50, type: bit, bit: 12 }
      e: { table: holding, address: 60, type: float64, enum: { 1: one } }
      w: { table: holding, address: 65533, type: uint64 }
`),
    ).toEqual([
      'devices[0].points.s1.length: type string needs length: its characters (two per register)',
      'devices[0].points.s2: a string takes no scale, offset, min, max or deadband',
      'devices[0].points.n.length: only points of type string take it',
      'devices[0].points.b1.byte: type int8 needs byte: high or low',
      'devices[0].points.b2.byte: only points of type int8 or uint8 take byte:',
      'devices[0].points.f1.bits: a bit field is unsigned: use type uint16 (or leave type out)',
      'devices[0].points.f2.bits: write the low bit first (4-7)',
      'devices[0].points.f3.bits: 0-15 is the whole register; leave bits: out',
      'devices[0].points.e.enum: labels need an integer type (int8 to uint64, bcd16, bcd32)',
      'devices[0].points.w.address: a uint64 at 65533 runs past the last address 65535',
      'devices[0].points.o2: its bits of holding 50 overlap point o1',
    ]);
    expect(problems(`  - { id: a, driver: modbus, bus: line1, unit: 1, points: { f: { table: holding, address: 0, bits: 4-19 } } }\n`)).toEqual([
      'devices[0].points.f.bits: must be a bit range such as 4-7 (bits 0-15, low-high)',
    ]);
  });
});

describe('addressing', () => {
  test('units 0 and 255 only over TCP; address_offset moves inline points, the problem says where they land', () => {
    expect(
      problems(`  - { id: a, driver: modbus, bus: line1, unit: 0, points: { v: { table: holding, address: 0 } } }
  - { id: b, driver: modbus, bus: line1, unit: 255, points: { v: { table: holding, address: 0 } } }
  - { id: c, driver: modbus, bus: line1, unit: 3, address_offset: -1, points: { v: { table: holding, address: 0 }, w: { table: holding, address: 1 } } }
  - { id: d, driver: modbus, bus: line1, unit: 4, address_offset: 10, points: { v: { table: holding, address: 65530, type: uint32 } } }
  - { id: e, driver: modbus, bus: line1, unit: 256, points: { v: { table: holding, address: 0 } } }
`),
    ).toEqual([
      'devices[4].unit: must be <= 255',
      'devices[0].unit: 0 on serial bus "line1": units there are 1-247 (0 is broadcast, 248-255 reserved); 0 and 255 are for Modbus TCP',
      'devices[1].unit: 255 on serial bus "line1": units there are 1-247 (0 is broadcast, 248-255 reserved); 0 and 255 are for Modbus TCP',
      'devices[2].points.v.address: 0 is before the first address (address -1 on the wire with address_offset -1)',
      'devices[3].points.v.address: a uint32 at 65540 runs past the last address 65535 (address 65540 on the wire with address_offset 10)',
    ]);
    const cfg = parseConfigText(`
buses:
  - { id: lan, kind: tcp, host: 10.0.0.5 }
devices:
  - { id: a, driver: modbus, bus: lan, unit: 0, points: { v: { table: holding, address: 0 } } }
  - { id: b, driver: modbus, bus: lan, unit: 255, address_offset: -1, points: { v: { table: holding, address: 40 } } }
`);
    expect(devicePointConfigs(cfg.devices[1] as ModbusDeviceConfig)['v']!.address).toBe(39);
  });
});

describe('RTU over TCP', () => {
  test('a port out of range, and units outside 1-247 as on any RTU line, name their path', () => {
    const bad = (() => {
      try {
        parseConfigText(`
buses:
  - { id: box, kind: rtu_over_tcp, host: 10.0.0.9, port: 0 }
  - { id: box2, kind: rtu_over_tcp, host: 10.0.0.9, port: 4001 }
devices:
  - { id: a, driver: modbus, bus: box2, unit: 255, points: { v: { table: holding, address: 0 } } }
`);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    })();
    expect(bad).toEqual([
      'buses[0].port: must be >= 1',
      'devices[0].unit: 255 on serial bus "box2": units there are 1-247 (0 is broadcast, 248-255 reserved); 0 and 255 are for Modbus TCP',
    ]);
  });
});
