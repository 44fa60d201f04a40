/**
 * A drive that uses input registers 2 and 3 for other things than the `vfd` profile's `fault`
 * and `dc_bus_voltage`: the device drops those profile points (`points: {fault: null}`,
 * `exclude: [dc_bus_voltage]`), and the gateway neither shows nor reads them. The field peer
 * stays silent to any read that touches input register 2 or 3, so a read of them would show.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { startGateway } from '../helpers/gateway.js';
import { startFieldPeer, waitFor } from '../peers/modbus.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!peers('/usr/bin/python3'))('profile points a device does not have', () => {
  test('are dropped with points: {name: null} and exclude:, neither shown nor read', async () => {
    const peer = await startFieldPeer('tcp', 0, [1]);
    cleanups.push(() => peer.stop());
    await peer.set(1, 'ir', 0, [1450, 312, 17, 5000]);
    for (const address of [2, 3]) await peer.rule({ unit: 1, fc: 4, address, action: 'silent' });
    const gw = await startGateway({
      buses: [{ id: 'gw', kind: 'tcp', host: '127.0.0.1', port: peer.port, timeout_ms: 200 }],
      devices: [{ id: 'drive', driver: 'modbus', bus: 'gw', unit: 1, profile: 'vfd', poll_interval_ms: 100, points: { fault: null }, exclude: ['dc_bus_voltage'] }],
    });
    cleanups.push(() => gw.stop());
    const snap = () => gw.gateway.registry.snapshot('drive')!;
    await waitFor('status values', () => snap().state['actual_speed'] === 1450 && snap().state['current'] === 3.12);
    const asked = (await peer.requests())['1:4:0']!;
    await waitFor('three more reads of the status block', async () => (await peer.requests())['1:4:0']! >= asked + 3);
    expect(Object.keys(snap().points).sort()).toEqual(['actual_speed', 'current', 'running', 'speed']);
    expect(snap()).toMatchObject({ online: true, quality: { actual_speed: 'good', current: 'good' } });
    // (The peer serves registers only: the run coil is answered with exception 01, bad.)
    expect(Object.keys(snap().state).sort()).toEqual(['actual_speed', 'current', 'speed']);
    expect(snap().quality['running']).toBe('bad');
    expect(gw.logs.filter((l) => /unanswered/.test(l.msg))).toEqual([]);
  });
});
