/**
 * The wider point types against pymodbus: 64-bit integers and doubles in all four byte/word
 * orders, ASCII strings, BCD, int8/uint8 bytes and bit fields. Each is decoded from a register
 * image the peer holds (worked out with Python's struct module, not by our encoder) and written
 * back, the peer's registers checked word for word.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { postJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startPyModbus, waitFor, type PyModbusPeer } from '../peers/modbus.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ORDERS = {
  abcd: { byte_order: 'big', word_order: 'big' },
  cdab: { byte_order: 'big', word_order: 'little' },
  badc: { byte_order: 'little', word_order: 'big' },
  dcba: { byte_order: 'little', word_order: 'little' },
} as const;

/** int64 -1234567890123, uint64 9007199254740000, float64 -2.5e-3, from holding 100, 4 registers each. */
const WIDE_IMAGE: Record<string, number[]> = {
  int64_abcd: [0xffff, 0xfee0, 0x8e04, 0xfb35],
  int64_cdab: [0xfb35, 0x8e04, 0xfee0, 0xffff],
  int64_badc: [0xffff, 0xe0fe, 0x048e, 0x35fb],
  int64_dcba: [0x35fb, 0x048e, 0xe0fe, 0xffff],
  uint64_abcd: [0x001f, 0xffff, 0xffff, 0xfc20],
  uint64_cdab: [0xfc20, 0xffff, 0xffff, 0x001f],
  uint64_badc: [0x1f00, 0xffff, 0xffff, 0x20fc],
  uint64_dcba: [0x20fc, 0xffff, 0xffff, 0x1f00],
  float64_abcd: [0xbf64, 0x7ae1, 0x47ae, 0x147b],
  float64_cdab: [0x147b, 0x47ae, 0x7ae1, 0xbf64],
  float64_badc: [0x64bf, 0xe17a, 0xae47, 0x7b14],
  float64_dcba: [0x7b14, 0xae47, 0xe17a, 0x64bf],
};
const WIDE_READ = { int64: -1234567890123, uint64: 9007199254740000, float64: -2.5e-3 };

/** int64 2^52 + 1, uint64 123456789012345, float64 6.02214076e23 as the peer must hold them. */
const WIDE_WRITE = { int64: 4503599627370497, uint64: 123456789012345, float64: 6.02214076e23 };
const WIDE_WRITTEN: Record<string, number[]> = {
  int64_abcd: [0x0010, 0x0000, 0x0000, 0x0001],
  int64_cdab: [0x0001, 0x0000, 0x0000, 0x0010],
  int64_badc: [0x1000, 0x0000, 0x0000, 0x0100],
  int64_dcba: [0x0100, 0x0000, 0x0000, 0x1000],
  uint64_abcd: [0x0000, 0x7048, 0x860d, 0xdf79],
  uint64_cdab: [0xdf79, 0x860d, 0x7048, 0x0000],
  uint64_badc: [0x0000, 0x4870, 0x0d86, 0x79df],
  uint64_dcba: [0x79df, 0x0d86, 0x4870, 0x0000],
  float64_abcd: [0x44df, 0xe185, 0xca57, 0xc517],
  float64_cdab: [0xc517, 0xca57, 0xe185, 0x44df],
  float64_badc: [0xdf44, 0x85e1, 0x57ca, 0x17c5],
  float64_dcba: [0x17c5, 0x57ca, 0x85e1, 0xdf44],
};

function widePoints(): Record<string, object> {
  const points: Record<string, object> = {};
  let address = 100;
  for (const type of ['int64', 'uint64', 'float64'] as const) {
    for (const [name, order] of Object.entries(ORDERS)) {
      points[`${type}_${name}`] = { table: 'holding', address, type, access: 'rw', ...order };
      address += 4;
    }
  }
  return points;
}

const SMALL_POINTS = {
  // "PUMP-7" NUL-padded in 5 registers; "SN12345  " with bytes swapped in each register.
  name: { table: 'holding', address: 200, type: 'string', length: 10, access: 'rw' },
  serial: { table: 'holding', address: 205, type: 'string', length: 10, byte_order: 'little', access: 'rw' },
  tag: { table: 'holding', address: 210, type: 'string', length: 6, trim: 'both' },
  raw_tag: { table: 'holding', address: 213, type: 'string', length: 6, trim: 'none' },
  counter: { table: 'holding', address: 220, type: 'bcd16', access: 'rw' },
  total: { table: 'holding', address: 221, type: 'bcd32', access: 'rw' },
  total_ws: { table: 'holding', address: 223, type: 'bcd32', word_order: 'little' },
  broken_bcd: { table: 'holding', address: 225, type: 'bcd16' },
  level: { table: 'holding', address: 230, type: 'int8', byte: 'high', access: 'rw' },
  slot: { table: 'holding', address: 230, type: 'uint8', byte: 'low', access: 'rw' },
  mode: { table: 'holding', address: 240, bits: '4-7', access: 'rw', enum: { 5: 'auto', 9: 'manual' } },
  step: { table: 'holding', address: 240, bits: '8-11', access: 'rw' },
  low_nibble: { table: 'holding', address: 240, bits: '0-3' },
};

const ascii = (s: string) => [...Buffer.from(s.padEnd(Math.ceil(s.length / 2) * 2, '\0'), 'latin1')];
const regs = (bytes: number[]) => bytes.flatMap((b, i) => (i % 2 === 0 ? [(b << 8) | (bytes[i + 1] ?? 0)] : []));

async function setup(): Promise<{ slave: PyModbusPeer; gw: RunningGateway }> {
  const slave = await startPyModbus('tcp', 0);
  cleanups.push(() => slave.stop());
  let address = 100;
  for (const words of Object.values(WIDE_IMAGE)) {
    await slave.set(1, 'hr', address, words);
    address += 4;
  }
  await slave.set(1, 'hr', 200, [...regs(ascii('PUMP-7')), 0, 0]);
  // Bytes swapped inside each register: "NS" "21" ... as a little-endian device stores "SN12345  ".
  await slave.set(1, 'hr', 205, regs(ascii('NS2143 5  ')));
  await slave.set(1, 'hr', 210, regs(ascii('  AB    AB  ')));
  await slave.set(1, 'hr', 220, [0x1234, 0x1234, 0x5678, 0x5678, 0x1234, 0x12a4]);
  await slave.set(1, 'hr', 230, [0xfe05]); // high byte -2, low byte 5
  await slave.set(1, 'hr', 240, [0x0a53]); // bits 0-3: 3, 4-7: 5, 8-11: 10
  const gw = await startGateway({
    buses: [{ id: 'plc', kind: 'tcp', host: '127.0.0.1', port: slave.port, timeout_ms: 300 }],
    devices: [{ id: 'meter', driver: 'modbus', bus: 'plc', unit: 1, poll_interval_ms: 200, points: { ...widePoints(), ...SMALL_POINTS } } as never],
  });
  cleanups.push(() => gw.stop());
  return { slave, gw };
}

describe.skipIf(!peers('/usr/bin/python3'))('Modbus point types against pymodbus', () => {
  test('64-bit, string, BCD, byte and bit-field points decode from the register image the peer holds', async () => {
    const { gw } = await setup();
    const snap = await waitFor('every point read', () => {
      const s = gw.gateway.registry.snapshot('meter')!;
      return s.online && s.state['low_nibble'] !== undefined && s.quality?.['broken_bcd'] === 'bad' ? s : undefined;
    });
    const expected: Record<string, unknown> = {};
    for (const name of Object.keys(WIDE_IMAGE)) expected[name] = WIDE_READ[name.split('_')[0] as keyof typeof WIDE_READ];
    Object.assign(expected, {
      name: 'PUMP-7',
      serial: 'SN12345',
      tag: 'AB',
      raw_tag: '  AB  ',
      counter: 1234,
      total: 12345678,
      total_ws: 12345678,
      level: -2,
      slot: 5,
      mode: 'auto',
      step: 10,
      low_nibble: 3,
    });
    expect(snap.state).toEqual(expected);
    // A nibble above 9 is not BCD: the point is bad, not a made-up number.
    expect(snap.quality?.['broken_bcd']).toBe('bad');
    expect(gw.gateway.registry.descriptor('meter')!.points['name']!.type).toBe('string');
  });

  test('each type written through REST lands in the peer registers in its byte and word order', async () => {
    const { slave, gw } = await setup();
    await waitFor('device online', () => gw.gateway.registry.snapshot('meter')!.online);
    const body: Record<string, unknown> = {};
    for (const name of Object.keys(WIDE_WRITTEN)) body[name] = WIDE_WRITE[name.split('_')[0] as keyof typeof WIDE_WRITE];
    const res = await postJson(`${gw.url}/api/v1/devices/meter`, body);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.new_state).toEqual(body);
    let address = 100;
    for (const [name, words] of Object.entries(WIDE_WRITTEN)) {
      expect(await slave.get(1, 'hr', address, 4), name).toEqual(words);
      address += 4;
    }

    const small = { name: 'ABC', serial: 'XY-9', counter: 4321, total: 90817263, level: -3, slot: 200, mode: 'manual', step: 6 };
    const res2 = await postJson(`${gw.url}/api/v1/devices/meter`, small);
    expect(res2.status, JSON.stringify(res2.json)).toBe(200);
    expect(res2.json.new_state).toEqual(small);
    expect(await slave.get(1, 'hr', 200, 5)).toEqual([0x4142, 0x4300, 0, 0, 0]);
    expect(await slave.get(1, 'hr', 205, 5)).toEqual([0x5958, 0x392d, 0, 0, 0]);
    expect(await slave.get(1, 'hr', 220, 3)).toEqual([0x4321, 0x9081, 0x7263]);
    expect(await slave.get(1, 'hr', 230, 1)).toEqual([0xfdc8]);
    // bits 4-7 = 9, 8-11 = 6, bits 0-3 (3) and 12-15 (0) kept.
    expect(await slave.get(1, 'hr', 240, 1)).toEqual([0x0693]);
  });

  test('values that do not fit are refused before anything is written', async () => {
    const { slave, gw } = await setup();
    await waitFor('device online', () => gw.gateway.registry.snapshot('meter')!.online);
    for (const [body, what] of [
      [{ name: 'ELEVEN CHARS' }, 'at most 10 characters'],
      [{ name: 'Zürich' }, 'printable ASCII'],
      [{ counter: 10000 }, 'counter'],
      [{ step: 16 }, 'step'],
      [{ level: 128 }, 'level'],
      [{ int64_abcd: 2 ** 60 }, 'int64_abcd'],
    ] as const) {
      const res = await postJson(`${gw.url}/api/v1/devices/meter`, { ...body, counter: body.counter ?? 1 });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(JSON.stringify(res.json)).toContain(what);
    }
    expect(await slave.get(1, 'hr', 220, 1)).toEqual([0x1234]);
  });
});
