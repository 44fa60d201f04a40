/**
 * Modbus ASCII against pymodbus's ASCII framer on a PTY pair: reads, a write, and what the
 * gateway put on the line, seen by the peer (it answers only well-formed ASCII frames with a
 * right LRC).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { postJson, startGateway } from '../helpers/gateway.js';
import { startPtyPair, startPyModbus, waitFor } from '../peers/modbus.js';
import { asciiFrame, lrc } from '../../drivers/modbus/ascii-framing.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('Modbus ASCII frames', () => {
  test('LRC and frame layout follow the Serial Line spec example', () => {
    // Unit 0x11, FC3, 3 registers from 0x006B: 0x11+0x03+0x6B+0x03 = 0x82, two's complement 0x7E.
    expect(lrc(Buffer.from([0x11, 0x03, 0x00, 0x6b, 0x00, 0x03]))).toBe(0x7e);
    expect(asciiFrame(Buffer.from([0x11, 0x03, 0x00, 0x6b, 0x00, 0x03])).toString('latin1')).toBe(':1103006B00037E\r\n');
  });
});

describe.skipIf(!peers('socat', '/usr/bin/python3'))('Modbus ASCII against pymodbus', () => {
  test('reads and writes a unit speaking Modbus ASCII', async () => {
    const pty = await startPtyPair();
    cleanups.push(() => pty.stop());
    const slave = await startPyModbus('ascii', pty.device, { units: [3] });
    cleanups.push(() => slave.stop());
    await slave.set(3, 'hr', 0, [1234, 0xfff6]);
    await slave.set(3, 'co', 4, [true]);
    const gw = await startGateway({
      buses: [{ id: 'asc', kind: 'ascii', port: pty.gateway, baud: 19200, timeout_ms: 500 }],
      devices: [
        {
          id: 'old_plc',
          driver: 'modbus',
          bus: 'asc',
          unit: 3,
          poll_interval_ms: 100,
          points: { level: { table: 'holding', address: 0, access: 'rw' }, delta: { table: 'holding', address: 1, type: 'int16' }, pump: { table: 'coil', address: 4, access: 'rw' } },
        } as never,
      ],
    });
    cleanups.push(() => gw.stop());
    const snap = await waitFor('read over ASCII', () => {
      const s = gw.gateway.registry.snapshot('old_plc')!;
      return s.state['pump'] !== undefined && s.state['delta'] !== undefined ? s : undefined;
    });
    expect(snap.state).toEqual({ level: 1234, delta: -10, pump: true });
    const res = await postJson(`${gw.url}/api/v1/devices/old_plc`, { level: 77, pump: false });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(await slave.get(3, 'hr', 0, 1)).toEqual([77]);
    expect(await slave.get(3, 'co', 4, 1)).toEqual([false]);
  });
});
