/**
 * The Modbus driver against libmodbus's own unit-test-server (Modbus TCP), whose registers
 * misbehave on purpose: 0x172 answers after 500 ms, 0x171 answers with a wrong transaction id,
 * 0x173 sends its answer one byte every 5 ms. After each, the next reading must be correct.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { postJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startLibmodbusRtuServer, startLibmodbusServer, startPtyPair, waitFor } from '../peers/modbus.js';
import type { ModbusDriver } from '../../drivers/modbus/driver.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const UT_REGISTERS = 0x160;
const SLEEP_500_MS = 0x172;
const INVALID_TID = 0x171;
const BYTE_BY_BYTE = 0x173;

const one = (id: string, address: number, access: 'r' | 'rw' = 'r') => ({
  id,
  driver: 'modbus' as const,
  bus: 'ut',
  unit: id === 'plain' ? 1 : id === 'slow' ? 2 : id === 'badtid' ? 3 : 4,
  poll_interval_ms: 100,
  points: { v: { table: 'holding' as const, address, access } },
});

describe.skipIf(!peers('gcc', 'pkg-config'))('Modbus TCP against libmodbus unit-test-server', () => {
  test('a delayed reply, a wrong transaction id and a byte-by-byte reply leave the next readings correct', async () => {
    const server = await startLibmodbusServer();
    cleanups.push(() => server.stop());
    // 300 ms is shorter than the 500 ms delay: that reply arrives late, during later requests.
    const gw: RunningGateway = await startGateway({
      buses: [{ id: 'ut', kind: 'tcp', host: '127.0.0.1', port: server.port, timeout_ms: 300, retries: 0, backoff_max_ms: 600 }],
      devices: [
        {
          ...one('plain', UT_REGISTERS, 'rw'),
          points: {
            a: { table: 'holding', address: UT_REGISTERS, access: 'rw' },
            b: { table: 'holding', address: UT_REGISTERS + 1, access: 'rw' },
            c: { table: 'holding', address: UT_REGISTERS + 2, access: 'rw' },
          },
        },
        one('slow', SLEEP_500_MS),
        one('badtid', INVALID_TID),
        one('bytes', BYTE_BY_BYTE),
      ],
    });
    cleanups.push(() => gw.stop());
    const snap = (id: string) => gw.gateway.registry.snapshot(id)!;
    const counters = () => (gw.gateway.driverList().find((d) => d.id === 'modbus:ut') as ModbusDriver).health().counters!;

    // libmodbus (unit id checks off over TCP) answers any unit; values start at 0.
    await waitFor('plain online', () => snap('plain').online);
    const res = await postJson(`${gw.url}/api/v1/devices/plain`, { a: 0x022b, b: 1, c: 100 });
    expect(res.status).toBe(200);
    expect(res.json.new_state).toEqual({ a: 0x022b, b: 1, c: 100 });

    // Every trap fired at least twice, and a late reply was seen and dropped.
    await waitFor(
      'each trap to fire twice and a late reply to be dropped',
      () => {
        const c = counters();
        return (
          c['device:slow:timeouts']! >= 2 && c['device:badtid:timeouts']! >= 2 && c['device:bytes:polls']! >= 2 && c['late_replies_dropped']! >= 2
        );
      },
      20_000,
    );
    // The byte-by-byte reply was reassembled: that unit is online with the register's value (0).
    expect(snap('bytes').online).toBe(true);
    expect(snap('bytes').state['v']).toBe(0);
    expect(snap('slow').online).toBe(false);
    expect(snap('badtid').online).toBe(false);
    // The values of the healthy unit were never confused with a late or foreign reply.
    expect(snap('plain').online).toBe(true);
    expect(snap('plain').state).toEqual({ a: 0x022b, b: 1, c: 100 });
    const pollsBefore = counters()['device:plain:polls']!;
    await waitFor('three more readings of plain', () => counters()['device:plain:polls']! >= pollsBefore + 3);
    expect(snap('plain').state).toEqual({ a: 0x022b, b: 1, c: 100 });
    const plainDiffs = gw.logs.filter((l) => l['device'] === 'plain' && /offline/.test(l.msg));
    expect(plainDiffs).toEqual([]);
  });

  test('a unit with one silent block stays online and keeps the values of the blocks that answer', async () => {
    const server = await startLibmodbusServer();
    cleanups.push(() => server.stop());
    const gw = await startGateway({
      // 400 ms: the 500 ms register times out, and a write queued behind it is answered well within
      // its own timeout once the (single-threaded) server wakes up.
      buses: [{ id: 'ut', kind: 'tcp', host: '127.0.0.1', port: server.port, timeout_ms: 400, retries: 0, max_gap: 0 }],
      devices: [
        {
          id: 'mixed',
          driver: 'modbus',
          bus: 'ut',
          unit: 1,
          poll_interval_ms: 100,
          points: { a: { table: 'holding', address: UT_REGISTERS, access: 'rw' }, slow: { table: 'holding', address: SLEEP_500_MS } },
        },
      ],
    });
    cleanups.push(() => gw.stop());
    await waitFor('online', () => gw.gateway.registry.snapshot('mixed')!.online);
    const res = await postJson(`${gw.url}/api/v1/devices/mixed`, { a: 321 });
    expect(res.json).toMatchObject({ new_state: { a: 321 } });
    expect(res.status).toBe(200);
    const counters = () => (gw.gateway.driverList()[0] as ModbusDriver).health().counters!;
    await waitFor('the slow block to time out twice', () => counters()['device:mixed:timeouts']! >= 2, 15_000);
    const snap = gw.gateway.registry.snapshot('mixed')!;
    expect(snap.online).toBe(true);
    expect(snap.state['a']).toBe(321);
    expect(snap.state['slow']).toBeUndefined();
    expect(gw.logs.filter((l) => l.msg === 'device offline')).toEqual([]);
  });

  test('with a timeout longer than the delay, the delayed register reads normally', async () => {
    const server = await startLibmodbusServer();
    cleanups.push(() => server.stop());
    const gw = await startGateway({
      buses: [{ id: 'ut', kind: 'tcp', host: '127.0.0.1', port: server.port, timeout_ms: 900, retries: 0 }],
      devices: [one('slow', SLEEP_500_MS), one('plain', UT_REGISTERS)],
    });
    cleanups.push(() => gw.stop());
    await waitFor('both online', () => gw.gateway.registry.snapshot('slow')!.online && gw.gateway.registry.snapshot('plain')!.online, 10_000);
    expect(gw.gateway.registry.snapshot('slow')!.state['v']).toBe(0);
  });

  test('over RTU: a late reply lands in the quiet period and is dropped; a reply from another unit is ignored', async () => {
    // Two lines, each with a libmodbus RTU server (unit 17) on a PTY; each unit has one good
    // register and one trap: 0x172 answers after 500 ms, 0x171 answers as unit 18.
    const line = async () => {
      const pty = await startPtyPair();
      cleanups.push(() => pty.stop());
      const server = await startLibmodbusRtuServer(pty.device);
      cleanups.push(() => server.stop());
      return { path: pty.gateway, unit: server.unit };
    };
    const [a, b] = [await line(), await line()];
    // The timeout gives up at 250 ms and the quiet time covers the rest of the 500 ms, so the
    // late answer cannot be taken for the answer to the next request.
    const bus = (id: string, port: string) =>
      ({ id, kind: 'rtu', port, baud: 115200, parity: 'none', timeout_ms: 250, retries: 0, quiet_ms: 400, backoff_max_ms: 1000, max_gap: 0 }) as const;
    const gw = await startGateway({
      buses: [bus('a', a.path), bus('b', b.path)],
      devices: [
        {
          id: 'ut_a',
          driver: 'modbus',
          bus: 'a',
          unit: a.unit,
          poll_interval_ms: 100,
          points: { v: { table: 'holding', address: UT_REGISTERS, access: 'rw' }, slow: { table: 'holding', address: SLEEP_500_MS } },
        },
        {
          id: 'ut_b',
          driver: 'modbus',
          bus: 'b',
          unit: b.unit,
          poll_interval_ms: 100,
          points: { v: { table: 'holding', address: UT_REGISTERS, access: 'rw' }, other: { table: 'holding', address: INVALID_TID } },
        },
      ],
    });
    cleanups.push(() => gw.stop());
    const snap = (id: string) => gw.gateway.registry.snapshot(id)!;
    const counters = (bus: string) => (gw.gateway.driverList().find((d) => d.id === `modbus:${bus}`) as ModbusDriver).health().counters!;
    await waitFor('both units online', () => snap('ut_a').online && snap('ut_b').online);
    for (const [id, value] of [['ut_a', 4242], ['ut_b', 4343]] as const) {
      const res = await postJson(`${gw.url}/api/v1/devices/${id}`, { v: value });
      expect(res.json).toMatchObject({ new_state: { v: value } });
    }
    await waitFor(
      'both traps to fire twice and the late reply to be dropped',
      () =>
        counters('a')['device:ut_a:timeouts']! >= 2 &&
        counters('b')['device:ut_b:timeouts']! >= 2 &&
        counters('a')['late_replies_dropped']! >= 1 &&
        counters('b')['dropped_bytes']! > 0,
      20_000,
    );
    const polls = [counters('a')['device:ut_a:polls']!, counters('b')['device:ut_b:polls']!];
    await waitFor('two more readings of each', () => counters('a')['device:ut_a:polls']! >= polls[0]! + 2 && counters('b')['device:ut_b:polls']! >= polls[1]! + 2, 15_000);
    expect(snap('ut_a')).toMatchObject({ online: true, state: { v: 4242 } });
    expect(snap('ut_b')).toMatchObject({ online: true, state: { v: 4343 } });
    expect(snap('ut_a').state['slow']).toBeUndefined();
    expect(snap('ut_b').state['other']).toBeUndefined();
  });
});
