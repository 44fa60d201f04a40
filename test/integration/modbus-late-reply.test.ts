/**
 * A late RTU reply with the bus defaults. libmodbus's unit-test-server (unit 17 on a PTY) answers
 * holding 0x172 after 500 ms, longer than the default 300 ms timeout. Its answer must never be
 * taken for the answer to a later request (here: holding 0x160, which looks alike: same unit,
 * same function, same length); it is dropped and counted as `late_replies_dropped`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { startGateway } from '../helpers/gateway.js';
import { startLibmodbusRtuServer, startPtyPair, waitFor } from '../peers/modbus.js';
import type { ModbusDriver } from '../../drivers/modbus/driver.js';
import type { DeviceDiff } from '../../src/core/registry.js';

const run = promisify(execFile);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const UT_REGISTERS = 0x160;
const SLEEP_500_MS = 0x172;

describe.skipIf(!peers('socat', 'gcc', 'pkg-config', 'mbpoll'))('a late RTU reply with the default bus settings', () => {
  test('is dropped and counted, never published as another register, and the unit stays online', async () => {
    const pty = await startPtyPair();
    cleanups.push(() => pty.stop());
    const server = await startLibmodbusRtuServer(pty.device);
    cleanups.push(() => server.stop());
    // Seed both registers with values unlike each other, from an independent master (writes
    // are not delayed; only reads of 0x172 are).
    const write = (address: number, value: number) =>
      run('mbpoll', ['-m', 'rtu', '-b', '115200', '-P', 'none', '-a', String(server.unit), '-t', '4', '-0', '-r', String(address), '-o', '2', pty.gateway, String(value)]);
    await write(UT_REGISTERS, 555);
    await write(SLEEP_500_MS, 4242);

    const gw = await startGateway({
      // Nothing but the line settings the server needs: timeout, retries and quiet time are the defaults.
      buses: [{ id: 'ut', kind: 'rtu', port: pty.gateway, baud: 115200, parity: 'none' }],
      devices: [
        {
          id: 'ut17',
          driver: 'modbus',
          bus: 'ut',
          unit: server.unit,
          poll_interval_ms: 200,
          points: { a: { table: 'holding', address: UT_REGISTERS }, s: { table: 'holding', address: SLEEP_500_MS } },
        },
      ],
    });
    cleanups.push(() => gw.stop());
    const diffs: DeviceDiff[] = [];
    gw.gateway.registry.onDiff((d) => diffs.push(d));
    const counters = () => (gw.gateway.driverList()[0] as ModbusDriver).health().counters!;
    const snap = () => gw.gateway.registry.snapshot('ut17')!;

    await waitFor('a read', () => snap().state['a'] !== undefined);
    // The delayed register times out, its late reply arrives and the unit is polled on (the
    // register then rests, since the unit answers its other register).
    await waitFor('a timeout and ten polls', () => counters()['device:ut17:timeouts']! >= 1 && counters()['device:ut17:polls']! >= 10, 20_000);

    expect(snap()).toMatchObject({ online: true, state: { a: 555 }, quality: { a: 'good', s: 'stale' } });
    // Never, in any diff, was `a` anything but 555, nor `s` published as read.
    const aValues = diffs.flatMap((d) => (Object.hasOwn(d.new_state, 'a') ? [d.new_state['a']] : []));
    expect(aValues).toEqual([555]);
    expect(diffs.some((d) => Object.hasOwn(d.new_state, 's'))).toBe(false);
    expect(diffs.filter((d) => d.new_state['online'] === false)).toEqual([]);
    // The late reply arrived, and was dropped.
    expect(counters()['late_replies_dropped']).toBeGreaterThanOrEqual(1);
    expect(counters()['device:ut17:resting_blocks']).toBe(1);
  });
});
