/**
 * A Modbus TCP gateway (test/peers/field_peer.py) in front of RTU units answers exception 0x0B
 * ("gateway target device failed to respond") or 0x0A ("gateway path unavailable") for a unit
 * that is not there. For the gateway that is the same as silence: the unit is offline and its
 * points are stale, never online with frozen values.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { startGateway } from '../helpers/gateway.js';
import { startFieldPeer, waitFor } from '../peers/modbus.js';
import type { ModbusDriver } from '../../drivers/modbus/driver.js';
import type { DeviceDiff } from '../../src/core/registry.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const unit = (id: string, u: number) => ({
  id,
  driver: 'modbus' as const,
  bus: 'gw',
  unit: u,
  poll_interval_ms: 100,
  points: { v: { table: 'holding' as const, address: 0 } },
});

describe.skipIf(!peers('/usr/bin/python3'))('exceptions 0x0A and 0x0B from a Modbus TCP gateway', () => {
  test('take a unit offline like a timeout: never online with {}, and stale when it was online', async () => {
    // The gateway serves unit 1; unit 5 is absent (0x0B), unit 6 has no route (0x0A).
    const peer = await startFieldPeer('tcp', 0, [1]);
    cleanups.push(() => peer.stop());
    await peer.rule({ unit: 6, action: 'exception', code: 10 });
    await peer.set(1, 'hr', 0, [7]);
    const gw = await startGateway({
      buses: [{ id: 'gw', kind: 'tcp', host: '127.0.0.1', port: peer.port, timeout_ms: 300, backoff_max_ms: 2000 }],
      devices: [unit('u1', 1), unit('u5', 5), unit('u6', 6)],
    });
    cleanups.push(() => gw.stop());
    const diffs: DeviceDiff[] = [];
    gw.gateway.registry.onDiff((d) => diffs.push(d));
    const snap = (id: string) => gw.gateway.registry.snapshot(id)!;
    const counters = () => (gw.gateway.driverList()[0] as ModbusDriver).health().counters!;

    await waitFor('u1 online with its value', () => snap('u1').online && snap('u1').state['v'] === 7);
    // Twenty polls of u1 (two seconds), in which each absent unit was asked at least three times.
    await waitFor('twenty polls of u1', () => counters()['device:u1:polls']! >= 20, 15_000);
    const asked = await peer.requests();
    expect(asked['5:3:0']).toBeGreaterThanOrEqual(3);
    expect(asked['6:3:0']).toBeGreaterThanOrEqual(3);
    for (const id of ['u5', 'u6']) {
      expect(snap(id)).toMatchObject({ online: false, state: {} });
      expect(gw.logs.filter((l) => l.msg === 'device online' && l['device'] === id)).toEqual([]);
    }
    // They rest like silent units: far fewer requests than a poll every 100 ms would make.
    expect(counters()['device:u5:transactions']).toBeLessThan(counters()['device:u1:transactions']! / 2);

    // Now unit 1 falls away behind the gateway: every poll is answered 0x0B.
    await peer.rule({ unit: 1, action: 'exception', code: 11 });
    await waitFor('u1 offline', () => !snap('u1').online, 5_000);
    expect(snap('u1')).toMatchObject({ online: false, state: { v: 7 }, quality: { v: 'stale' } });
    const offline = diffs.find((d) => d.device_id === 'u1' && d.new_state['online'] === false)!;
    expect(offline.quality).toEqual({ v: 'stale' });
    expect(gw.gateway.registry.list().filter((d) => d.online).map((d) => d.device_id)).toEqual([]);

    // It comes back by itself when the gateway reaches it again.
    await peer.rule({ unit: 1, action: 'ok' });
    await peer.set(1, 'hr', 0, [8]);
    await waitFor('u1 back with the new value, good', () => snap('u1').online && snap('u1').state['v'] === 8 && snap('u1').quality['v'] === 'good', 10_000);
  });
});
