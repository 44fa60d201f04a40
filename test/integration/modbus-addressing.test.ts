/**
 * Addressing against pymodbus: units 0 and 255 over Modbus TCP (many TCP devices answer only
 * there) and `address_offset` for manuals that count registers from 1.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { postJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startPyModbus, waitFor, type PyModbusPeer } from '../peers/modbus.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(units: number[], devices: object[]): Promise<{ slave: PyModbusPeer; gw: RunningGateway }> {
  const slave = await startPyModbus('tcp', 0, { units });
  cleanups.push(() => slave.stop());
  for (const u of units) await slave.set(u, 'hr', 0, [1000 + u, 2000 + u, 3000 + u]);
  const gw = await startGateway({
    buses: [{ id: 'lan', kind: 'tcp', host: '127.0.0.1', port: slave.port, timeout_ms: 300 }],
    devices: devices as never,
  });
  cleanups.push(() => gw.stop());
  return { slave, gw };
}

const POINTS = { a: { table: 'holding', address: 0, access: 'rw' }, b: { table: 'holding', address: 1 } };

describe.skipIf(!peers('/usr/bin/python3'))('Modbus addressing against pymodbus', () => {
  test('units 0 and 255 over TCP are polled and written as any other unit', async () => {
    const { slave, gw } = await setup(
      [0, 255],
      [0, 255].map((unit) => ({ id: `u${unit}`, driver: 'modbus', bus: 'lan', unit, poll_interval_ms: 100, points: POINTS })),
    );
    for (const unit of [0, 255]) {
      const s = await waitFor(`unit ${unit} read`, () => {
        const snap = gw.gateway.registry.snapshot(`u${unit}`)!;
        return snap.online && snap.state['b'] !== undefined ? snap : undefined;
      });
      expect(s.state).toEqual({ a: 1000 + unit, b: 2000 + unit });
    }
    const res = await postJson(`${gw.url}/api/v1/devices/u255`, { a: 77 });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(await slave.get(255, 'hr', 0, 1)).toEqual([77]);
    expect(await slave.get(0, 'hr', 0, 1)).toEqual([1000]);
    const log = await slave.requests();
    expect(log['0:3:0']).toBeGreaterThan(0);
    expect(log['255:3:0']).toBeGreaterThan(0);
  });

  test('address_offset: -1 reads and writes the register a 1-based manual numbers 1 at address 0', async () => {
    const { slave, gw } = await setup(
      [1],
      [{ id: 'drive', driver: 'modbus', bus: 'lan', unit: 1, poll_interval_ms: 100, address_offset: -1, points: { first: { table: 'holding', address: 1, access: 'rw' }, third: { table: 'holding', address: 3 } } }],
    );
    const s = await waitFor('read', () => {
      const snap = gw.gateway.registry.snapshot('drive')!;
      return snap.online && snap.state['third'] !== undefined ? snap : undefined;
    });
    expect(s.state).toEqual({ first: 1001, third: 3001 });
    expect((await postJson(`${gw.url}/api/v1/devices/drive`, { first: 5 })).status).toBe(200);
    expect(await slave.get(1, 'hr', 0, 2)).toEqual([5, 2001]);
    expect(Object.keys(await slave.requests()).filter((k) => k.startsWith('1:3:'))).toEqual(['1:3:0']);
  });
});
