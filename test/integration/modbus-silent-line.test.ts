/**
 * A dead RTU line (the pymodbus slave serving ten units on a PTY is stopped: the port stays
 * open, nothing answers) takes all ten units offline together, within a poll interval and
 * three timeout sequences of the line falling silent, their points stale; then the line is
 * probed, not each unit; when a slave answers again, every unit comes back. Two units that
 * die together on a line whose other units answer are two dead units: nothing else goes
 * offline.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { startGateway } from '../helpers/gateway.js';
import { startFieldPeer, startPtyPair, startPyModbus, waitFor } from '../peers/modbus.js';
import type { ModbusDriver } from '../../drivers/modbus/driver.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const UNITS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const POLL_MS = 1000;
const TIMEOUT_MS = 300; // the default
// The default quiet time after a timeout: the timeout and the inter-frame gap (4 ms at 9600 baud).
const QUIET_MS = TIMEOUT_MS + 5;

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
    // Three units in a row time out (the third is the witness), after a poll that may have been on the wire.
    expect(last).toBeLessThanOrEqual(POLL_MS + 4 * TIMEOUT_MS + 3 * QUIET_MS);
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

  test('two units dying together are two dead units: the others answer and never go offline', async () => {
    const pty = await startPtyPair();
    cleanups.push(() => pty.stop());
    const units = [1, 2, 3, 4, 5, 6];
    const peer = await startFieldPeer('rtu', pty.device, units);
    cleanups.push(() => peer.stop());
    for (const u of units) await peer.set(u, 'hr', 0, [u]);
    const gw = await startGateway({
      buses: [{ id: 'line', kind: 'rtu', port: pty.gateway }],
      devices: units.map((u) => ({ id: `u${u}`, driver: 'modbus' as const, bus: 'line', unit: u, poll_interval_ms: 200, points: { v: { table: 'holding' as const, address: 0 } } })),
    });
    cleanups.push(() => gw.stop());
    const snap = (u: number) => gw.gateway.registry.snapshot(`u${u}`)!;
    const counters = () => (gw.gateway.driverList()[0] as ModbusDriver).health().counters!;
    await waitFor('all units online with their values', () => units.every((u) => snap(u).online && snap(u).state['v'] === u));
    const offline = new Set<string>();
    gw.gateway.registry.onDiff((d) => {
      if (d.new_state['online'] === false) offline.add(d.device_id);
    });

    // One cabinet loses power: units 2 and 3, polled one after the other, stop answering.
    await Promise.all([peer.rule({ unit: 2, action: 'silent' }), peer.rule({ unit: 3, action: 'silent' })]);
    await waitFor('units 2 and 3 offline', () => offline.has('u2') && offline.has('u3'), 10_000);
    // Every healthy unit is asked again, several times, after both dead ones went offline.
    const asked = await peer.requests();
    const healthy = units.filter((u) => u !== 2 && u !== 3);
    await waitFor('five more polls of each healthy unit', async () => {
      const now = await peer.requests();
      return healthy.every((u) => (now[`${u}:3:0`] ?? 0) >= (asked[`${u}:3:0`] ?? 0) + 5);
    }, 15_000);
    expect([...offline].sort()).toEqual(['u2', 'u3']);
    for (const u of healthy) expect(snap(u)).toMatchObject({ online: true, quality: { v: 'good' } });
    expect(counters()['line_silences']).toBe(0);
  });
});
