/**
 * A dead RTU line (the pymodbus slave serving ten units on a PTY is stopped: the port stays
 * open, nothing answers) takes all ten units offline together, within 2 x (poll + timeout) of
 * the line falling silent, their points stale; then the line is probed, not each unit; when
 * a slave answers again, every unit comes back.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { startGateway } from '../helpers/gateway.js';
import { startPtyPair, startPyModbus, waitFor } from '../peers/modbus.js';
import type { ModbusDriver } from '../../drivers/modbus/driver.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const UNITS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const POLL_MS = 1000;
const TIMEOUT_MS = 300; // the default

describe.skipIf(!peers('socat', '/usr/bin/python3'))('a silent RTU line', () => {
  test('takes all its units offline together and is probed as one line', async () => {
    const pty = await startPtyPair();
    cleanups.push(() => pty.stop());
    const slave = await startPyModbus('rtu', pty.device, { units: UNITS });
    cleanups.push(() => slave.stop());
    for (const u of UNITS) await slave.set(u, 'hr', 0, [u * 10]);
    const gw = await startGateway({
      buses: [{ id: 'line', kind: 'rtu', port: pty.gateway }],
      devices: UNITS.map((u) => ({ id: `u${u}`, driver: 'modbus' as const, bus: 'line', unit: u, poll_interval_ms: POLL_MS, points: { v: { table: 'holding' as const, address: 0 } } })),
    });
    cleanups.push(() => gw.stop());
    const snap = (u: number) => gw.gateway.registry.snapshot(`u${u}`)!;
    const counters = () => (gw.gateway.driverList()[0] as ModbusDriver).health().counters!;
    await waitFor('all units online with their values', () => UNITS.every((u) => snap(u).online && snap(u).state['v'] === u * 10));

    const offlineAt = new Map<string, number>();
    gw.gateway.registry.onDiff((d) => {
      if (d.new_state['online'] === false) offlineAt.set(d.device_id, Date.now());
    });
    await slave.stop();
    const silentFrom = Date.now();
    await waitFor('every unit offline', () => offlineAt.size === UNITS.length, 10_000);
    const times = [...offlineAt.values()];
    const last = Math.max(...times) - silentFrom;
    const spread = Math.max(...times) - Math.min(...times);
    console.log(`all ${UNITS.length} units offline ${last} ms after the line fell silent, within ${spread} ms of each other`);
    expect(last).toBeLessThanOrEqual(2 * (POLL_MS + TIMEOUT_MS));
    expect(spread).toBeLessThan(TIMEOUT_MS);
    for (const u of UNITS) expect(snap(u)).toMatchObject({ online: false, state: { v: u * 10 }, quality: { v: 'stale' } });
    expect(counters()['line_silent']).toBe(1);

    // While it is silent, the line is probed once per rest, not each unit in turn: every
    // attempt on the wire from now on is a probe.
    const before = counters();
    await waitFor('three probes', () => counters()['line_probes']! >= before['line_probes']! + 3, 20_000);
    const after = counters();
    expect(after['transactions']! - before['transactions']!).toBeLessThanOrEqual(after['line_probes']! - before['line_probes']! + 1);

    // A slave on the line again: every unit answers and comes back with good values.
    const again = await startPyModbus('rtu', pty.device, { units: UNITS });
    cleanups.push(() => again.stop());
    for (const u of UNITS) await again.set(u, 'hr', 0, [u * 10 + 1]);
    await waitFor('every unit back, good', () => UNITS.every((u) => snap(u).online && snap(u).state['v'] === u * 10 + 1 && snap(u).quality['v'] === 'good'), 30_000);
    expect(counters()['line_silent']).toBe(0);
  });
});
