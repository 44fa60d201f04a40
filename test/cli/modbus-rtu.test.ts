/**
 * `mgw modbus` on a serial line: the CLI opens one end of a socat PTY pair, the pymodbus RTU
 * slave the other.
 */
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peers } from '../helpers/peers.js';
import { loadTestMap, mgw, ptyPair, startModbusPeer, type ModbusPeer, type PtyPair } from './helpers.js';

describe.skipIf(!peers('socat', '/usr/bin/python3'))('mgw modbus over Modbus RTU on a PTY', () => {
  let pty: PtyPair;
  let peer: ModbusPeer;
  const UNITS = [3, 8];

  beforeAll(async () => {
    pty = await ptyPair();
    peer = await startModbusPeer('rtu', pty.b, UNITS);
    for (const u of UNITS) await loadTestMap(peer, u);
  });
  afterAll(async () => {
    await peer?.stop();
    await pty?.stop();
  });

  it('reads and decodes registers, saying which port, speed and framing it used', async () => {
    const r = await mgw(['modbus', 'read', '--port', pty.a, '--unit', '8', '--address', '40009', '--type', 'float32', '--word-order', 'little']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`unit 8 on ${pty.a} at 19200 8E1: 1 x float32 CDAB from holding register 40009 (0-based address 8)`);
    expect(r.stdout).toMatch(/^40009\s+8\s+0x0000 0x41AC\s+21\.5$/m);

    const j = await mgw(['--json', 'modbus', 'read', '--port', pty.a, '--baud', '9600', '--parity', 'N', '--unit', '3', '--address', '2', '--type', 'int32', '--count', '2']);
    expect(j.code).toBe(0);
    const out = JSON.parse(j.stdout) as { link: string; values: { hex: string; value: number }[] };
    expect(out.link).toBe(`${pty.a} at 9600 8N1`);
    expect(out.values.map((v) => [v.hex, v.value])).toEqual([
      ['0xFFFE 0x7960', -100000],
      ['0xB2D0 0x5E00', -1294967296],
    ]);
  });

  it('writes registers and coils that the slave then holds', async () => {
    const r = await mgw(['modbus', 'write', '--port', pty.a, '--unit', '3', '--address', '40041', '--type', 'uint32', '--word-order', 'little', '305419896']);
    expect(r.code).toBe(0);
    expect(await peer.get(3, 'hr', 40, 2)).toEqual([0x5678, 0x1234]);
    const c = await mgw(['modbus', 'write', '--port', pty.a, '--unit', '3', '--address', '00020', '1', '0', '1']);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain('with function 15');
    expect(await peer.get(3, 'co', 19, 3)).toEqual([true, false, true]);
  });

  it('scan finds exactly the unit ids that answer on the line', async () => {
    const r = await mgw(['--json', 'modbus', 'scan', '--port', pty.a, '--from', '1', '--to', '10']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { units: { unit: number }[] }).units.map((u) => u.unit)).toEqual(UNITS);
  });

  it('no answer on the bus: the message says what to check, exit 75', async () => {
    const r = await mgw(['modbus', 'read', '--port', pty.a, '--unit', '7', '--address', '40001']);
    expect(r.code).toBe(75);
    expect(r.stderr).toBe(`mgw: no answer from unit 7 on ${pty.a} at 19200 8E1 after 3 tries (timeout 300 ms): check wiring, termination, unit ID and parity\n`);
  });

  it('a port another program holds (the running gateway) is exit 69 with the hint to stop it', async () => {
    const holder = new SerialPort({ path: pty.a, baudRate: 19200, autoOpen: false });
    await new Promise<void>((res, rej) => holder.open((e) => (e ? rej(e) : res())));
    try {
      const r = await mgw(['modbus', 'read', '--port', pty.a, '--unit', '3']);
      expect(r.code).toBe(69);
      expect(r.stderr).toContain(`mgw: ${pty.a} is in use by another program (the gateway daemon? stop it with`);
    } finally {
      await new Promise<void>((res) => holder.close(() => res()));
    }
  });

  it('a port that does not exist points at `mgw ports`, exit 69', async () => {
    const r = await mgw(['modbus', 'read', '--port', `${pty.a}-missing`]);
    expect(r.code).toBe(69);
    expect(r.stderr).toContain(`no serial port ${pty.a}-missing: run \`mgw ports\``);
  });
});
