/**
 * `mgw modbus` on its own connection against pymodbus: FC23 (write and read back in one
 * transaction) and the `string` type (the gateway's codec: length, byte order, trimming).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peers } from '../helpers/peers.js';
import { startPyModbus, type PyModbusPeer } from '../peers/modbus.js';
import { mgw } from './helpers.js';

describe.skipIf(!peers('/usr/bin/python3'))('mgw modbus: FC23 and strings', () => {
  let slave: PyModbusPeer;
  let host: string;

  beforeAll(async () => {
    slave = await startPyModbus('tcp', 0, { units: [1] });
    host = `127.0.0.1:${slave.port}`;
  });
  afterAll(async () => {
    await slave?.stop();
  });

  it('--fc23 writes and reads back in one transaction: no separate read, the unit holds the words', async () => {
    const r = await mgw(['--json', 'modbus', 'write', '--host', host, '--unit', '1', '--address', '40061', '--type', 'float32', '--fc23', '12.5', '-3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ function_code: 23, verified: true, written: [12.5, -3] });
    expect(out.values.map((v: { hex: string }) => v.hex)).toEqual(['0x4148 0x0000', '0xC040 0x0000']);
    expect(await slave.get(1, 'hr', 60, 4)).toEqual([0x4148, 0, 0xc040, 0]);
    const served = await slave.requests();
    // pymodbus validates FC23's read and write (both as function 0x17) and saw no FC3 or FC16.
    expect(served['1:23:60']).toBeGreaterThanOrEqual(1);
    expect(served['1:3:60']).toBeUndefined();
    expect(served['1:16:60']).toBeUndefined();
  });

  it('--fc23 is refused for coils and beside --multiple', async () => {
    const coil = await mgw(['modbus', 'write', '--host', host, '--address', '00001', '--fc23', 'true']);
    expect(coil.code).toBe(64);
    expect(coil.stderr).toContain('function 23 writes and reads holding registers only');
    const both = await mgw(['modbus', 'write', '--host', host, '--address', '40001', '--fc23', '--multiple', '1']);
    expect(both.code).toBe(64);
  });

  it('reads a string register block written by pymodbus, trimmed, in both byte orders', async () => {
    // "PUMP-7  " as ASCII, two characters to a register, high byte first.
    const text = Buffer.from('PUMP-7  ', 'latin1');
    const words = [0, 1, 2, 3].map((i) => text.readUInt16BE(2 * i));
    await slave.set(1, 'hr', 100, words);
    await slave.set(1, 'hr', 110, words.map((w) => ((w & 0xff) << 8) | (w >> 8)));
    const big = await mgw(['--json', 'modbus', 'read', '--host', host, '--unit', '1', '--address', '40101', '--type', 'string', '--length', '8']);
    expect(big.stderr).toBe('');
    expect(big.code).toBe(0);
    expect(JSON.parse(big.stdout).values).toEqual([{ address: 100, register: '40101', raw: words, hex: '0x5055 0x4D50 0x2D37 0x2020', value: 'PUMP-7' }]);
    const swapped = await mgw(['--json', 'modbus', 'read', '--host', host, '--unit', '1', '--address', '40111', '--type', 'string', '--length', '8', '--byte-order', 'little']);
    expect(JSON.parse(swapped.stdout).values[0].value).toBe('PUMP-7');
    const table = await mgw(['modbus', 'read', '--host', host, '--unit', '1', '--address', '40101', '--type', 'string', '--length', '8', '--count', '2']);
    expect(table.stdout).toContain('2 x string of 8 chars from holding register 40101');
    expect(table.stdout).toMatch(/40101\s+100\s+0x5055 0x4D50 0x2D37 0x2020\s+"PUMP-7"/);
  });

  it('writes a string; an odd length pads the last register with NUL', async () => {
    const r = await mgw(['modbus', 'write', '--host', host, '--unit', '1', '--address', '40201', '--type', 'string', '--length', '5', 'AB12']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('wrote "AB12" (string of 5 chars) to holding register 40201');
    expect(await slave.get(1, 'hr', 200, 3)).toEqual([0x4142, 0x3132, 0x0000]);
  });

  it('--type string without --length, and a value longer than it, are usage errors', async () => {
    const noLength = await mgw(['modbus', 'read', '--host', host, '--type', 'string']);
    expect(noLength.code).toBe(64);
    expect(noLength.stderr).toContain('--type string needs --length <chars>');
    const long = await mgw(['modbus', 'write', '--host', host, '--type', 'string', '--length', '2', 'ABC']);
    expect(long.code).toBe(64);
    expect(long.stderr).toContain('3 characters, more than --length 2');
  });
});
