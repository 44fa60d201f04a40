/**
 * `mgw modbus` against a real Modbus TCP slave (pymodbus), spawning the built CLI.
 */
import { spawn } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peers } from '../helpers/peers.js';
import { CLI, closedPort, loadTestMap, mgw, startModbusPeer, until, type ModbusPeer } from './helpers.js';

describe.skipIf(!peers('/usr/bin/python3'))('mgw modbus over Modbus TCP', () => {
  let peer: ModbusPeer;
  let host: string;
  const UNITS = [2, 5, 9];

  beforeAll(async () => {
    peer = await startModbusPeer('tcp', '0', UNITS);
    host = `127.0.0.1:${peer.where}`;
    for (const u of UNITS) await loadTestMap(peer, u);
  });
  afterAll(async () => {
    await peer?.stop();
  });

  const read = async (...args: string[]) => {
    const r = await mgw(['--json', 'modbus', 'read', '--host', host, '--unit', '5', ...args]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as { table: string; values: { address: number; register: string; hex: string; raw: number[]; value: unknown }[] };
  };

  it.each([
    { what: 'int16', args: ['--address', '40002', '--type', 'int16'], hex: '0xFF85', value: -123 },
    { what: 'uint16', args: ['--address', '1', '--type', 'uint16'], hex: '0xFF85', value: 65413 },
    { what: 'int32', args: ['--address', '40003', '--type', 'int32'], hex: '0xFFFE 0x7960', value: -100000 },
    { what: 'uint32', args: ['--address', '40005', '--type', 'uint32'], hex: '0xB2D0 0x5E00', value: 3000000000 },
    { what: 'float32 ABCD', args: ['--address', '40007', '--type', 'float32'], hex: '0x41AC 0x0000', value: 21.5 },
    { what: 'float32 CDAB', args: ['--address', '40009', '--type', 'float32', '--word-order', 'little'], hex: '0x0000 0x41AC', value: 21.5 },
    { what: 'float32 BADC', args: ['--address', '40011', '--type', 'float32', '--byte-order', 'little'], hex: '0xAC41 0x0000', value: 21.5 },
    { what: 'bool from a register', args: ['--address', '40001', '--type', 'bool'], hex: '0x01F4', value: true },
    { what: 'input register float32', args: ['--address', '30002', '--type', 'float32'], hex: '0xC050 0x0000', value: -3.25 },
    { what: 'coil', args: ['--address', '00003'], hex: '1', value: true },
    { what: 'discrete input', args: ['--table', 'discrete', '--address', '0'], hex: '0', value: false },
  ])('decodes $what and shows its raw words', async ({ args, hex, value }) => {
    const out = await read(...args);
    expect(out.values).toHaveLength(1);
    expect(out.values[0]!.hex).toBe(hex);
    expect(out.values[0]!.value).toBe(value);
  });

  it('prints hex and decoded value side by side and names both register numberings', async () => {
    const r = await mgw(['modbus', 'read', '--host', host, '--unit', '9', '--address', '40003', '--type', 'int32', '--count', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`unit 9 on ${host} (Modbus TCP): 2 x int32 ABCD from holding register 40003 (0-based address 2)`);
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('40003'))).toMatch(/^40003\s+2\s+0xFFFE 0x7960\s+-100000$/);
    expect(lines.find((l) => l.startsWith('40005'))).toMatch(/^40005\s+4\s+0xB2D0 0x5E00\s+-1294967296$/);
    expect(r.stdout).not.toMatch(/\x1b\[/); // not a TTY: no colour codes
  });

  it('reads the same register whether it is written 0-based, in hex or as 40001', async () => {
    const zero = await read('--address', '0');
    const hex = await read('--address', '0x0000');
    const modicon = await read('--address', '40001');
    const six = await read('--address', '400001');
    for (const out of [zero, hex, modicon, six]) expect(out.values[0]).toMatchObject({ address: 0, register: '40001', value: 500 });
  });

  it('writes typed values and the slave holds exactly those words', async () => {
    const r = await mgw(['modbus', 'write', '--host', host, '--unit', '2', '--address', '40021', '--type', 'float32', '12.5', '-3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('wrote 12.5, -3 (float32 ABCD) to holding register 40021 (0-based address 20) on unit 2');
    expect(r.stdout).toMatch(/40021\s+20\s+0x4148 0x0000\s+12\.5/);
    expect(await peer.get(2, 'hr', 20, 4)).toEqual([0x4148, 0, 0xc040, 0]);

    const one = await mgw(['--json', 'modbus', 'write', '--host', host, '--unit', '2', '--address', '30', '--type', 'int16', '--', '-42']);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ function_code: 6, verified: true, written: [-42] });
    expect(await peer.get(2, 'hr', 30, 1)).toEqual([0xffd6]);

    const multiple = await mgw(['--json', 'modbus', 'write', '--host', host, '--unit', '2', '--address', '31', '--multiple', '7']);
    expect(JSON.parse(multiple.stdout)).toMatchObject({ function_code: 16 });
    expect(await peer.get(2, 'hr', 31, 1)).toEqual([7]);

    const coil = await mgw(['modbus', 'write', '--host', host, '--unit', '2', '--address', '00010', 'on']);
    expect(coil.code).toBe(0);
    expect(await peer.get(2, 'co', 9, 1)).toEqual([true]);
  });

  it('scan finds exactly the unit ids that answer', async () => {
    const r = await mgw(['--json', 'modbus', 'scan', '--host', host, '--from', '1', '--to', '12']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { units: { unit: number; answer: string }[] };
    expect(out.units.map((u) => u.unit)).toEqual(UNITS);
    expect(out.units.map((u) => u.answer)).toEqual(['0x00C8', '0x01F4', '0x0384']);

    const human = await mgw(['modbus', 'scan', '--host', host, '--from', '4', '--to', '6']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^UNIT\s+ANSWER\s+TIME$/m);
    expect(human.stdout).toMatch(/^5\s+0x01F4\s+\d+ ms$/m);
    expect(human.stdout).not.toMatch(/^[46]\s/m);
    expect(human.stderr).toBe(''); // no progress bar when stderr is not a terminal
  });

  it('scan prints each unit the moment it answers, long before the scan ends', async () => {
    const child = spawn(process.execPath, [CLI, 'modbus', 'scan', '--host', host, '--from', '1', '--to', '247', '--timeout', '400'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    try {
      await until(() => /^5\s+0x01F4\s+\d+ ms$/m.test(stdout) || child.exitCode !== null, 'unit 5 on stdout', 40_000);
      // Units 6-247 (about 97 s of timeouts) are still to be probed: the row came as it was found.
      // (A timeout far above the peer's answer time: on a loaded machine a first answer can take 100 ms.)
      expect(child.exitCode, stdout).toBeNull();
      expect(stdout).toMatch(/^scanning units 1-247 on 127\.0\.0\.1:\d+ \(Modbus TCP\), probing holding register 40001 \(0-based address 0\), timeout 400 ms x 1\nUNIT\s+ANSWER\s+TIME\n2\s+0x00C8\s+\d+ ms\n5\s+0x01F4\s+\d+ ms\n$/);
      child.kill('SIGINT');
      expect(await code).toBe(130);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('Ctrl-C ends a long scan early and still prints what it found, exit 130', async () => {
    // A pass-through proxy counts the requests, so the interrupt comes after unit 12 without guessing at time.
    let requestBytes = 0;
    const sockets: Socket[] = [];
    const [peerHost, peerPort] = host.split(':') as [string, string];
    const proxy = createServer((client) => {
      const upstream = connect(Number(peerPort), peerHost);
      sockets.push(client, upstream);
      client.on('data', (d) => {
        requestBytes += d.length;
        upstream.write(d);
      });
      upstream.on('data', (d) => client.write(d));
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = proxy.address() as { port: number };
      const child = spawn(process.execPath, [CLI, 'modbus', 'scan', '--host', `127.0.0.1:${port}`, '--from', '1', '--to', '247', '--timeout', '400'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
      await until(() => requestBytes >= 12 * 12, 'twelve probe requests', 20_000); // 12 bytes per Modbus TCP read request
      child.kill('SIGINT');
      expect(await code).toBe(130);
      expect(stdout).toMatch(/^scanning units 1-247 on/);
      expect(stdout).toMatch(/^3 units answered \(units 1-\d+ in [\d.]+ s\)$/m);
      expect(stdout).toMatch(/^2\s+0x00C8/m);
      expect(stdout).toMatch(/^9\s+0x0384/m);
      expect(stderr).toMatch(/^mgw: scan interrupted: units \d+-247 were not probed\n$/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  it('--watch --samples ends with the status of the last read when it failed', async () => {
    const r = await mgw(['--json', 'modbus', 'read', '--host', host, '--unit', '4', '--timeout', '50', '--tries', '1', '--watch', '20', '--samples', '2']);
    expect(r.code).toBe(75);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { error: string; exit_code: number });
    expect(lines.map((l) => l.exit_code)).toEqual([75, 75]);
    expect(JSON.parse(r.stderr)).toMatchObject({ exit_code: 75, error: expect.stringMatching(/^2 of 2 reads failed; the last one: no answer from unit 4/) });
  });

  it('a silent unit is "no answer" with what was tried and what to check, exit 75', async () => {
    const r = await mgw(['modbus', 'read', '--host', host, '--unit', '4', '--timeout', '100', '--tries', '2']);
    expect(r.code).toBe(75);
    expect(r.stderr).toBe(`mgw: no answer from unit 4 on ${host} (Modbus TCP) after 2 tries (timeout 100 ms): check the unit ID, and the address and port of the device\n`);
  });

  it('with --json a failure is one JSON object on stderr with the same reason and status', async () => {
    const r = await mgw(['--json', 'modbus', 'read', '--host', host, '--unit', '4', '--timeout', '50', '--tries', '1']);
    expect(r.code).toBe(75);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toEqual({ exit_code: 75, error: `no answer from unit 4 on ${host} (Modbus TCP) after 1 try (timeout 50 ms): check the unit ID, and the address and port of the device` });
  });

  it('a rejected write (Modbus exception) is exit 76 and nothing is written', async () => {
    const r = await mgw(['modbus', 'write', '--host', host, '--unit', '5', '--address', '0x0800', '1']);
    expect(r.code).toBe(76);
    expect(r.stderr).toContain('refused a write to holding register 42049 (0-based address 2048): exception 2 (illegal data address');
    expect(r.stdout).toBe('');
  });

  it('a Modbus exception names the register and the reason, exit 76', async () => {
    const r = await mgw(['modbus', 'read', '--host', host, '--unit', '5', '--address', '0x0800']);
    expect(r.code).toBe(76);
    expect(r.stderr).toContain('unit 5 on');
    expect(r.stderr).toContain('holding register 42049 (0-based address 2048)');
    expect(r.stderr).toContain('exception 2 (illegal data address');
  });

  it.each([
    { why: 'unknown type', args: ['read', '--host', 'x', '--type', 'float128'], says: '--type "float128": expected one of int16, uint16, int32, uint32, float32, int64, uint64, float64, bcd16, bcd32, string, bool' },
    { why: 'register number of no table', args: ['read', '--host', 'x', '--address', '50001'], says: 'must start with 4 (holding), 3 (input), 1 (discrete) or 0 (coil)' },
    { why: 'neither port nor host', args: ['read'], says: 'say where the bus is' },
    { why: 'unit out of range on a serial line', args: ['read', '--port', '/dev/ttyUSB0', '--unit', '248'], says: '--unit "248": expected a whole number from 1 to 247' },
    { why: 'too many registers', args: ['read', '--host', 'x', '--count', '100', '--type', 'float32'], says: 'at most 125 registers (62 float32 values)' },
    { why: 'write to an input register', args: ['write', '--host', 'x', '--address', '30001', '1'], says: 'is read-only' },
    { why: 'unknown option', args: ['read', '--host', 'x', '--baud-rate', '9600'], says: "unknown option '--baud-rate'" },
    // (the wording of register-number and value errors is covered by modbus-address.test.ts)
  ])('bad arguments ($why) exit 64 before touching the bus', async ({ args, says }) => {
    const r = await mgw(['modbus', ...args]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(says);
  });

  it('nothing listening on the TCP port is "unavailable", exit 69', async () => {
    const port = await closedPort();
    const r = await mgw(['modbus', 'read', '--host', `127.0.0.1:${port}`]);
    expect(r.code).toBe(69);
    expect(r.stderr).toContain(`nothing listens on 127.0.0.1:${port}: check the address and port`);
  });

  it('--watch reads repeatedly; --json gives one object per line', async () => {
    const r = await mgw(['--json', 'modbus', 'read', '--host', host, '--unit', '9', '--address', '40001', '--watch', '20', '--samples', '3']);
    expect(r.code).toBe(0);
    const samples = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { at: string; values: { value: number }[] });
    expect(samples).toHaveLength(3);
    for (const s of samples) expect(s.values[0]!.value).toBe(900);
    expect(new Set(samples.map((s) => s.at)).size).toBe(3);
  });

  it('reads and writes the 64-bit and BCD types, swapped orders included (images from Python struct)', async () => {
    // int64 -1234567890123 DCBA at 100; float64 -2.5e-3 CDAB at 104; bcd32 12345678 at 108.
    await peer.set(2, 'hr', 100, [0x35fb, 0x048e, 0xe0fe, 0xffff, 0x147b, 0x47ae, 0x7ae1, 0xbf64, 0x1234, 0x5678]);
    const r = async (...args: string[]) => {
      const out = await mgw(['--json', 'modbus', 'read', '--host', host, '--unit', '2', ...args]);
      expect(out.stderr).toBe('');
      return (JSON.parse(out.stdout) as { values: { hex: string; value: unknown }[] }).values[0]!;
    };
    expect(await r('--address', '100', '--type', 'int64', '--byte-order', 'little', '--word-order', 'little')).toMatchObject({
      hex: '0x35FB 0x048E 0xE0FE 0xFFFF',
      value: -1234567890123,
    });
    expect((await r('--address', '104', '--type', 'float64', '--word-order', 'little')).value).toBe(-2.5e-3);
    expect((await r('--address', '108', '--type', 'bcd32')).value).toBe(12345678);
    const w = await mgw(['modbus', 'write', '--host', host, '--unit', '2', '--address', '112', '--type', 'uint64', '--word-order', 'little', '123456789012345']);
    expect(w.stderr).toBe('');
    expect(w.code).toBe(0);
    expect(await peer.get(2, 'hr', 112, 4)).toEqual([0xdf79, 0x860d, 0x7048, 0x0000]);
    const bad = await mgw(['modbus', 'write', '--host', host, '--unit', '2', '--address', '120', '--type', 'bcd16', '12345']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('out of range for bcd16 (0..9999)');
    // Five CLI processes: on a busy machine each start takes seconds.
  }, 60_000);
});
