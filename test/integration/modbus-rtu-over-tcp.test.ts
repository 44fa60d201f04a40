/**
 * RTU over TCP, as through a transparent RS-485-to-Ethernet server: socat joins a TCP listener
 * to a PTY on which pymodbus answers Modbus RTU. The gateway sends RTU frames (unit, CRC) on
 * the TCP connection; what reaches the peer is RTU, or it would not answer.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { postJson, startGateway } from '../helpers/gateway.js';
import { freePort, startPyModbus, waitFor } from '../peers/modbus.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** socat: a PTY (opened first, for the RTU peer) joined to a TCP listener (for the gateway). */
async function serialServer(): Promise<{ port: number; device: string }> {
  const port = await freePort();
  const device = join(mkdtempSync(join(tmpdir(), 'mgw-rtu-tcp-')), 'dev');
  const proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${device}`, `tcp-listen:${port},bind=127.0.0.1,reuseaddr`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  );
  await waitFor('socat to listen', () => {
    if (proc.exitCode !== null) throw new Error(`socat exited: ${err}`);
    return existsSync(device) && /listening on/.test(err);
  });
  return { port, device };
}

describe.skipIf(!peers('socat', '/usr/bin/python3'))('Modbus RTU over TCP', () => {
  test('reads and writes an RTU unit behind a TCP serial server', async () => {
    const server = await serialServer();
    const slave = await startPyModbus('rtu', server.device, { units: [7] });
    cleanups.push(() => slave.stop());
    await slave.set(7, 'hr', 10, [0x4148, 0x0000, 321]);
    const gw = await startGateway({
      buses: [{ id: 'box', kind: 'rtu_over_tcp', host: '127.0.0.1', port: server.port, timeout_ms: 500 }],
      devices: [
        {
          id: 'drive',
          driver: 'modbus',
          bus: 'box',
          unit: 7,
          poll_interval_ms: 100,
          points: { temp: { table: 'holding', address: 10, type: 'float32' }, speed: { table: 'holding', address: 12, access: 'rw' } },
        } as never,
      ],
    });
    cleanups.push(() => gw.stop());
    const snap = await waitFor('read through the serial server', () => {
      const s = gw.gateway.registry.snapshot('drive')!;
      return s.state['speed'] !== undefined ? s : undefined;
    });
    expect(snap.state).toEqual({ temp: 12.5, speed: 321 });
    const res = await postJson(`${gw.url}/api/v1/devices/drive`, { speed: 900 });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(await slave.get(7, 'hr', 12, 1)).toEqual([900]);
    expect((await slave.requests())['7:6:12']).toBe(1);
  });
});
