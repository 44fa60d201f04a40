/**
 * Polling settings against real peers: poll groups inside one device (rates counted from the
 * pymodbus peer's request log), the per-device read size limit, a per-device timeout and the
 * inter-request delay (arrival times logged by the field peer).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startFieldPeer, startPyModbus, waitFor } from '../peers/modbus.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gateway(port: number, devices: object[], bus: Record<string, unknown> = {}): Promise<RunningGateway> {
  const gw = await startGateway({
    buses: [{ id: 'lan', kind: 'tcp', host: '127.0.0.1', port, timeout_ms: 300, ...bus }],
    devices: devices as never,
  });
  cleanups.push(() => gw.stop());
  return gw;
}

const online = (gw: RunningGateway, id: string) => waitFor(`${id} online`, () => gw.gateway.registry.snapshot(id)!.online);

describe.skipIf(!peers('/usr/bin/python3'))('Modbus polling settings', () => {
  test('poll groups: a fast status block and a slow counter of one device keep their own rates (within 10 % over 10 s)', async () => {
    const slave = await startPyModbus('tcp', 0);
    cleanups.push(() => slave.stop());
    const gw = await gateway(slave.port, [
      {
        id: 'drive',
        driver: 'modbus',
        bus: 'lan',
        unit: 1,
        poll_interval_ms: 100,
        points: {
          status: { table: 'holding', address: 0 },
          speed: { table: 'holding', address: 1 },
          energy: { table: 'holding', address: 100, type: 'uint32', poll_interval_ms: 1000 },
        },
      },
    ]);
    await online(gw, 'drive');
    const before = await slave.requests();
    const t0 = performance.now();
    // The measurement window itself: rates need a span of time, there is no event to wait for.
    await new Promise((r) => setTimeout(r, 10_000));
    const after = await slave.requests();
    const seconds = (performance.now() - t0) / 1000;
    const rate = (key: string) => ((after[key] ?? 0) - (before[key] ?? 0)) / seconds;
    const fast = rate('1:3:0');
    const slow = rate('1:3:100');
    console.log(`poll groups over ${seconds.toFixed(1)} s: fast ${fast.toFixed(2)}/s (configured 10), slow ${slow.toFixed(2)}/s (configured 1)`);
    expect(Math.abs(fast - 10) / 10).toBeLessThanOrEqual(0.1);
    expect(Math.abs(slow - 1) / 1).toBeLessThanOrEqual(0.1);
  }, 30_000);

  test('max_read_registers splits the reads of a device that refuses long requests', async () => {
    const slave = await startPyModbus('tcp', 0);
    cleanups.push(() => slave.stop());
    await slave.set(1, 'hr', 0, Array.from({ length: 30 }, (_, i) => i + 1));
    const points = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`r${i}`, { table: 'holding', address: i }]));
    const gw = await gateway(slave.port, [{ id: 'old', driver: 'modbus', bus: 'lan', unit: 1, poll_interval_ms: 200, max_read_registers: 12, points }]);
    const snap = await waitFor('all read', () => {
      const s = gw.gateway.registry.snapshot('old')!;
      return s.state['r29'] !== undefined ? s : undefined;
    });
    expect(snap.state['r29']).toBe(30);
    expect(Object.keys(await slave.requests()).sort()).toEqual(['1:3:0', '1:3:12', '1:3:24']);
  });

  test('a slow unit with its own timeout_ms answers; its neighbour on the same line with the bus timeout does not', async () => {
    const field = await startFieldPeer('tcp', 0, [1, 2]);
    cleanups.push(() => field.stop());
    await field.set(1, 'hr', 0, [11]);
    await field.set(2, 'hr', 0, [22]);
    await field.rule({ unit: 1, action: 'delay', ms: 150 });
    await field.rule({ unit: 2, action: 'delay', ms: 150 });
    const point = { v: { table: 'holding', address: 0 } };
    const gw = await gateway(
      field.port,
      [
        { id: 'slow', driver: 'modbus', bus: 'lan', unit: 1, poll_interval_ms: 200, timeout_ms: 600, points: point },
        { id: 'other', driver: 'modbus', bus: 'lan', unit: 2, poll_interval_ms: 200, points: point },
      ],
      { timeout_ms: 60, retries: 0 },
    );
    await online(gw, 'slow');
    expect(gw.gateway.registry.snapshot('slow')!.state).toEqual({ v: 11 });
    // The neighbour's requests went out and timed out at the bus's 60 ms.
    await waitFor('the neighbour timed out', async () => ((await field.requests())['2:3:0'] ?? 0) >= 2);
    expect(gw.gateway.registry.snapshot('other')!.online).toBe(false);
    expect(gw.gateway.registry.snapshot('other')!.state).toEqual({});
  });

  test('request_delay_ms keeps that much silence before every request on the line', async () => {
    const field = await startFieldPeer('tcp', 0, [1, 2]);
    cleanups.push(() => field.stop());
    const point = { v: { table: 'holding', address: 0 } };
    const gw = await gateway(
      field.port,
      [1, 2].map((unit) => ({ id: `u${unit}`, driver: 'modbus', bus: 'lan', unit, poll_interval_ms: 20, points: point })),
      { request_delay_ms: 150 },
    );
    await online(gw, 'u1');
    await waitFor('ten requests', async () => (await field.arrivals()).length >= 10, 15_000);
    const times = await field.arrivals();
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    console.log(`request_delay_ms 150: smallest gap between requests ${Math.min(...gaps).toFixed(1)} ms over ${gaps.length}`);
    // The scheduler counts in whole milliseconds (Date.now()); the peer's clock is finer, so a
    // gap may read up to 1 ms short of the setting.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(149);
  });
});
