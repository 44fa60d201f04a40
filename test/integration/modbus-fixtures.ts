/**
 * A point map that covers every point type and byte/word order, the raw registers a peer holds
 * for it (worked out by hand from the IEEE 754 / two's complement bit patterns, not by our
 * encoder), and the values the gateway must decode from them.
 */
import type { GatewayConfigInput } from '../../src/config/schema.js';
import type { PyModbusPeer } from '../peers/modbus.js';

export const TYPE_POINTS = {
  i16: { table: 'holding', address: 0, type: 'int16' },
  u16: { table: 'holding', address: 1, type: 'uint16' },
  i32: { table: 'holding', address: 2, type: 'int32' },
  i32_ws: { table: 'holding', address: 4, type: 'int32', word_order: 'little' },
  u32_bs: { table: 'holding', address: 6, type: 'uint32', byte_order: 'little' },
  f32_abcd: { table: 'holding', address: 8, type: 'float32' },
  f32_cdab: { table: 'holding', address: 10, type: 'float32', word_order: 'little' },
  f32_badc: { table: 'holding', address: 12, type: 'float32', byte_order: 'little' },
  f32_dcba: { table: 'holding', address: 14, type: 'float32', byte_order: 'little', word_order: 'little' },
  flag1: { table: 'holding', address: 16, type: 'bit', bit: 1 },
  flag2: { table: 'holding', address: 16, type: 'bit', bit: 2, access: 'rw' },
  scaled: { table: 'holding', address: 17, type: 'uint16', scale: 0.1, offset: -200, unit: '°C' },
  mode: { table: 'holding', address: 18, type: 'uint16', access: 'rw', enum: { '0': 'manual', '1': 'automatic', '2': 'maintenance' } },
  setpoint: { table: 'holding', address: 20, type: 'float32', access: 'rw', min: 0, max: 1000, unit: 'bar' },
  speed: { table: 'holding', address: 22, type: 'uint16', access: 'rw', min: 0, max: 3000, unit: 'rpm' },
  ir_le: { table: 'input', address: 0, type: 'int16', byte_order: 'little' },
  ir_u32: { table: 'input', address: 1, type: 'uint32' },
  lamp: { table: 'coil', address: 3, access: 'rw' },
  horn: { table: 'coil', address: 4, access: 'rw' },
  door: { table: 'discrete', address: 4 },
} as const;

/** hr 0..22, ir 0..2, coils 3-4, discrete 4. */
export const TYPE_RAW = {
  hr: [
    0xff85, // -123
    0xc350, // 50000
    0xfffe, 0x7960, // -100000, high word first
    0x7960, 0xfffe, // -100000, low word first
    0xd0b2, 0x005e, // 3000000000 = 0xB2D05E00, bytes swapped in each word
    0x47f1, 0x2000, // 123456.0 = 0x47F12000 ABCD
    0x2000, 0x47f1, // CDAB
    0xf147, 0x0020, // BADC
    0x0020, 0xf147, // DCBA
    0b1010, // bit 1 set, bit 2 clear
    2315, // 2315 * 0.1 - 200 = 31.5
    2, // maintenance
    0, // unused
    0x4148, 0x0000, // 12.5
    1200,
  ],
  ir: [0x0102, 0x0001, 0x86a0], // 0x0201 = 513; 0x000186A0 = 100000
};

export const TYPE_VALUES = {
  i16: -123,
  u16: 50000,
  i32: -100000,
  i32_ws: -100000,
  u32_bs: 3000000000,
  f32_abcd: 123456,
  f32_cdab: 123456,
  f32_badc: 123456,
  f32_dcba: 123456,
  flag1: true,
  flag2: false,
  scaled: 31.5,
  mode: 'maintenance',
  setpoint: 12.5,
  speed: 1200,
  ir_le: 513,
  ir_u32: 100000,
  lamp: true,
  horn: false,
  door: true,
};

export async function loadTypeRegisters(peer: PyModbusPeer, unit: number): Promise<void> {
  await peer.set(unit, 'hr', 0, TYPE_RAW.hr);
  await peer.set(unit, 'ir', 0, TYPE_RAW.ir);
  await peer.set(unit, 'co', 3, [true]);
  await peer.set(unit, 'di', 4, [true]);
}

export function typesDevice(id: string, bus: string, unit: number, pollMs = 50): GatewayConfigInput['devices'][number] {
  return { id, driver: 'modbus', bus, unit, poll_interval_ms: pollMs, type: 'test', points: TYPE_POINTS as never };
}
