/**
 * Write functions against pymodbus: `write_function: 16` for units that refuse FC5/FC6, FC22
 * mask writes for bit points (and the read-modify-write fallback for a unit without FC22).
 * The peer's own request log says which function codes reached it.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { postJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startPyModbus, waitFor, type PyModbusPeer } from '../peers/modbus.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function peer(...args: Parameters<typeof startPyModbus>): Promise<PyModbusPeer> {
  const p = await startPyModbus(...args);
  cleanups.push(() => p.stop());
  return p;
}

async function gateway(port: number, device: Record<string, unknown>): Promise<RunningGateway> {
  const gw = await startGateway({
    buses: [{ id: 'plc', kind: 'tcp', host: '127.0.0.1', port, timeout_ms: 300, retries: 1 }],
    devices: [{ id: 'drive', driver: 'modbus', bus: 'plc', unit: 1, poll_interval_ms: 1000, ...device } as never],
  });
  cleanups.push(() => gw.stop());
  await waitFor('device online', () => gw.gateway.registry.snapshot('drive')!.online);
  return gw;
}

const POINTS = {
  speed: { table: 'holding', address: 10, type: 'uint16', access: 'rw' },
  ramp: { table: 'holding', address: 12, type: 'uint16', access: 'rw' },
  run: { table: 'coil', address: 2, access: 'rw' },
  fwd: { table: 'holding', address: 20, type: 'bit', bit: 3, access: 'rw' },
  rev: { table: 'holding', address: 20, type: 'bit', bit: 4, access: 'rw' },
};

/** Requests of function code `fc`, by address, from the peer's log. */
function byFc(log: Record<string, number>, fc: number): Record<number, number> {
  const out: Record<number, number> = {};
  for (const [key, n] of Object.entries(log)) {
    const [, f, a] = key.split(':').map(Number);
    if (f === fc) out[a!] = n;
  }
  return out;
}

describe.skipIf(!peers('/usr/bin/python3'))('Modbus write functions against pymodbus', () => {
  test('write_function: 16 writes one register by FC16 and one coil by FC15 to a unit that refuses FC5, FC6 and FC22', async () => {
    const slave = await peer('tcp', 0, { refuseFc: [5, 6, 22] });
    await slave.set(1, 'hr', 20, [0b1_0001]);
    const gw = await gateway(slave.port, { write_function: 16, points: POINTS });

    const res = await postJson(`${gw.url}/api/v1/devices/drive`, { speed: 1450, run: true });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(await slave.get(1, 'hr', 10, 1)).toEqual([1450]);
    expect(await slave.get(1, 'co', 2, 1)).toEqual([true]);
    // The bit point: FC22 answered exception 01, so read-modify-write, the write by FC16.
    const bit = await postJson(`${gw.url}/api/v1/devices/drive`, { fwd: true });
    expect(bit.status, JSON.stringify(bit.json)).toBe(200);
    expect(await slave.get(1, 'hr', 20, 1)).toEqual([0b1_1001]);
    const log = await slave.requests();
    expect(byFc(log, 16)).toEqual({ 10: 1, 20: 1 });
    expect(byFc(log, 15)).toEqual({ 2: 1 });
    expect(byFc(log, 6)).toEqual({});
  });

  test('without write_function: 16 the same unit refuses the write with exception 01', async () => {
    const slave = await peer('tcp', 0, { refuseFc: [5, 6] });
    const gw = await gateway(slave.port, { points: POINTS });
    const res = await postJson(`${gw.url}/api/v1/devices/drive`, { speed: 1450 });
    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({ error_code: 'device_error', exception_code: 1 });
  });

  test('a per-point write_function overrides the device: one point by FC16, its neighbour by FC6', async () => {
    const slave = await peer('tcp', 0);
    const gw = await gateway(slave.port, { points: { ...POINTS, ramp: { ...POINTS.ramp, write_function: 16 } } });
    expect((await postJson(`${gw.url}/api/v1/devices/drive`, { speed: 900 })).status).toBe(200);
    expect((await postJson(`${gw.url}/api/v1/devices/drive`, { ramp: 30 })).status).toBe(200);
    expect(await slave.get(1, 'hr', 10, 3)).toEqual([900, 0, 30]);
    const log = await slave.requests();
    expect(byFc(log, 6)).toEqual({ 10: 1 });
    expect(byFc(log, 16)).toEqual({ 12: 1 });
  });

  test('a bit point is written by one FC22 mask write that keeps the other bits', async () => {
    const slave = await peer('tcp', 0);
    await slave.set(1, 'hr', 20, [0b1000_0000_0001_0001]);
    const gw = await gateway(slave.port, { points: POINTS });
    const res = await postJson(`${gw.url}/api/v1/devices/drive`, { fwd: true, rev: false });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.new_state).toEqual({ fwd: true, rev: false });
    expect(await slave.get(1, 'hr', 20, 1)).toEqual([0b1000_0000_0000_1001]);
    const log = await slave.requests();
    expect(byFc(log, 22)).toEqual({ 20: 2 });
    expect(byFc(log, 6)).toEqual({});
    expect(byFc(log, 16)).toEqual({});
  });

  test('a unit without FC22 gets read-modify-write (FC3 + FC6) after its first exception 01', async () => {
    const slave = await peer('tcp', 0, { refuseFc: [22] });
    await slave.set(1, 'hr', 20, [0b0001]);
    const gw = await gateway(slave.port, { points: POINTS });
    expect((await postJson(`${gw.url}/api/v1/devices/drive`, { fwd: true })).status).toBe(200);
    expect((await postJson(`${gw.url}/api/v1/devices/drive`, { rev: true })).status).toBe(200);
    expect(await slave.get(1, 'hr', 20, 1)).toEqual([0b1_1001]);
    expect(byFc(await slave.requests(), 6)).toEqual({ 20: 2 });
  });
});
