/**
 * The quality of every Modbus point, from the driver through the real registry, against the
 * field peer over TCP: good when read, bad when the unit answers it with an exception or with a
 * value outside its declared range (`range_check`), stale when its block goes unanswered or the
 * unit is offline; the value and its timestamp stay those of the last good reading.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { startGateway } from '../helpers/gateway.js';
import { startFieldPeer, waitFor } from '../peers/modbus.js';
import type { DeviceDiff } from '../../src/core/registry.js';
import type { Quality } from '../../src/core/points.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!peers('/usr/bin/python3'))('quality of Modbus points', () => {
  test('moves through good, bad and stale as the unit answers, refuses and falls silent', async () => {
    const peer = await startFieldPeer('tcp', 0, [1]);
    cleanups.push(() => peer.stop());
    await peer.set(1, 'hr', 0, [1]);
    await peer.set(1, 'hr', 20, [500]);
    await peer.set(1, 'hr', 30, [3]);
    await peer.rule({ unit: 1, fc: 3, address: 10, action: 'exception', code: 4 });
    await peer.set(1, 'hr', 40, [6, 7]);
    await peer.rule({ unit: 1, fc: 3, address: 40, action: 'badcount' });
    const gw = await startGateway({
      // A short timeout and longest rest keep the silent block's rest short for the test.
      buses: [{ id: 'gw', kind: 'tcp', host: '127.0.0.1', port: peer.port, timeout_ms: 100, backoff_max_ms: 1000 }],
      devices: [
        {
          id: 'plc',
          driver: 'modbus',
          bus: 'gw',
          unit: 1,
          poll_interval_ms: 100,
          points: {
            g: { table: 'holding', address: 0, deadband: 5 },
            e: { table: 'holding', address: 10 },
            r: { table: 'holding', address: 20, min: 0, max: 100, range_check: true },
            s: { table: 'holding', address: 30 },
            w: { table: 'holding', address: 40, type: 'uint32' },
          },
        },
      ],
    });
    cleanups.push(() => gw.stop());
    const transitions: Record<string, Quality[]> = { g: [], e: [], r: [], s: [], w: [] };
    const diffs: DeviceDiff[] = [];
    gw.gateway.registry.onDiff((d) => {
      diffs.push(d);
      for (const [name, q] of Object.entries(d.quality ?? {})) transitions[name]!.push(q);
    });
    const snap = () => gw.gateway.registry.snapshot('plc')!;
    const quality = (want: Record<string, Quality>) => () => Object.entries(want).every(([k, q]) => snap().quality[k] === q);

    // An exception, a reply with a wrong byte count and a value beyond the range are bad and
    // never published as values.
    await waitFor('first qualities', quality({ g: 'good', e: 'bad', r: 'bad', s: 'good', w: 'bad' }));
    expect(snap()).toMatchObject({ online: true, state: { g: 1, s: 3 } });
    expect(Object.hasOwn(snap().state, 'r')).toBe(false);
    expect(Object.hasOwn(snap().state, 'e')).toBe(false);
    expect(Object.hasOwn(snap().state, 'w')).toBe(false);

    // A change within the deadband is not published, and the point stays good.
    await peer.set(1, 'hr', 0, [3]);
    const asked = (await peer.requests())['1:3:0']!;
    await waitFor('two more polls', async () => (await peer.requests())['1:3:0']! >= asked + 2);
    expect(snap()).toMatchObject({ state: { g: 1 }, quality: { g: 'good' } });

    // One block falls silent: its point is stale with its last value, the unit stays online.
    await peer.rule({ unit: 1, fc: 3, address: 30, action: 'silent' });
    await waitFor('s stale', quality({ s: 'stale' }));
    const staleAt = snap();
    expect(staleAt).toMatchObject({ online: true, state: { s: 3 }, quality: { g: 'good', s: 'stale' } });
    // It answers again (after its rest): good, with the value it has now.
    await peer.set(1, 'hr', 30, [4]);
    await peer.rule({ unit: 1, fc: 3, address: 30, action: 'ok' });
    await waitFor('s good again', () => snap().quality['s'] === 'good' && snap().state['s'] === 4, 5_000);

    // A value back inside the range is good and published.
    await peer.set(1, 'hr', 20, [50]);
    await waitFor('r good', () => snap().quality['r'] === 'good' && snap().state['r'] === 50);

    // The whole unit falls silent: offline, every good point stale, the bad one stays bad.
    const lastUpdate = snap().last_update;
    await peer.rule({ unit: 1, action: 'silent' });
    await waitFor('offline', () => !snap().online, 5_000);
    expect(snap()).toMatchObject({ state: { g: 1, r: 50, s: 4 }, quality: { g: 'stale', e: 'bad', r: 'stale', s: 'stale' } });
    // The values and their time are the last good reading's.
    expect(snap().last_update).toBeGreaterThanOrEqual(lastUpdate!);

    await peer.rule({ unit: 1, action: 'ok' });
    await waitFor('online, good again', quality({ g: 'good', e: 'bad', r: 'good', s: 'good' }), 10_000);
    expect(snap().online).toBe(true);

    expect(transitions).toEqual({
      g: ['good', 'stale', 'good'],
      e: ['bad'],
      r: ['bad', 'good', 'stale', 'good'],
      s: ['good', 'stale', 'good', 'stale', 'good'],
      w: ['bad'],
    });
    // Every quality change was a diff of its own or rode with a value change: none was lost.
    expect(diffs.every((d) => d.changed)).toBe(true);
  });
});
