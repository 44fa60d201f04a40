/**
 * One register that a unit never answers must not starve its RTU line. Three identical lines in
 * one gateway, with the bus defaults, measured over the same window of at least 10 s from the
 * start: on each, unit 7 (input 0, holding 0, holding 100) and unit 8 (holding 0), served by
 * test/peers/field_peer.py. On "clean" every register answers; on "silent" unit 7 never answers
 * holding 100; on "badcount" it answers holding 100 with a wrong byte count (which the RTU
 * framing cannot take, so it times out too). Unit 8 and unit 7's good blocks keep at least 80 %
 * of the rate they have on the clean line.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { startGateway } from '../helpers/gateway.js';
import { startFieldPeer, startPtyPair, waitFor, type FieldPeer } from '../peers/modbus.js';
import type { ModbusDriver } from '../../drivers/modbus/driver.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function line(): Promise<{ path: string; peer: FieldPeer }> {
  const pty = await startPtyPair();
  cleanups.push(() => pty.stop());
  const peer = await startFieldPeer('rtu', pty.device, [7, 8]);
  cleanups.push(() => peer.stop());
  return { path: pty.gateway, peer };
}

const LINES = ['clean', 'silent', 'badcount'] as const;

describe.skipIf(!peers('socat', '/usr/bin/python3'))('a register that never answers', () => {
  test('costs the healthy unit and the unit\'s good blocks at most 20 % of their poll rate', async () => {
    const lines = { clean: await line(), silent: await line(), badcount: await line() };
    await lines.silent.peer.rule({ unit: 7, fc: 3, address: 100, action: 'silent' });
    await lines.badcount.peer.rule({ unit: 7, fc: 3, address: 100, action: 'badcount' });
    for (const { peer } of Object.values(lines)) {
      await peer.set(7, 'ir', 0, [70]);
      await peer.set(7, 'hr', 0, [71]);
      await peer.set(7, 'hr', 100, [72]);
      await peer.set(8, 'hr', 0, [80]);
    }
    const gw = await startGateway({
      // Bus defaults: timeout 300 ms, 1 retry, quiet time = timeout.
      buses: LINES.map((id) => ({ id, kind: 'rtu' as const, port: lines[id].path })),
      devices: LINES.flatMap((bus) => [
        {
          id: `${bus}_7`,
          driver: 'modbus' as const,
          bus,
          unit: 7,
          poll_interval_ms: 200,
          points: {
            status: { table: 'input' as const, address: 0 },
            setpoint: { table: 'holding' as const, address: 0 },
            limit: { table: 'holding' as const, address: 100 },
          },
        },
        { id: `${bus}_8`, driver: 'modbus' as const, bus, unit: 8, poll_interval_ms: 200, points: { level: { table: 'holding' as const, address: 0 } } },
      ]),
    });
    cleanups.push(() => gw.stop());
    const polls = (bus: string, u: number) => (gw.gateway.driverList().find((d) => d.id === `modbus:${bus}`) as ModbusDriver).health().counters![`device:${bus}_${u}:polls`]!;
    const snap = (id: string) => gw.gateway.registry.snapshot(id)!;

    // The window starts with the gateway and runs until the clean unit 8 has been polled 55
    // times: at 200 ms, 11 s.
    await waitFor('55 polls of the clean unit 8', () => polls('clean', 8) >= 55, 30_000);
    const rates = Object.fromEntries(LINES.map((bus) => [bus, { u7: polls(bus, 7), u8: polls(bus, 8) }]));
    const share = (bus: 'silent' | 'badcount', u: 'u7' | 'u8') => rates[bus]![u] / rates['clean']![u];
    console.log(
      `polls in the window: ${JSON.stringify(rates)}; share of the clean rate: ` +
        `silent u8 ${(100 * share('silent', 'u8')).toFixed(0)} %, u7 ${(100 * share('silent', 'u7')).toFixed(0)} %; ` +
        `badcount u8 ${(100 * share('badcount', 'u8')).toFixed(0)} %, u7 ${(100 * share('badcount', 'u7')).toFixed(0)} %`,
    );
    for (const bus of ['silent', 'badcount'] as const) {
      expect(share(bus, 'u8')).toBeGreaterThanOrEqual(0.8);
      expect(share(bus, 'u7')).toBeGreaterThanOrEqual(0.8);
      // Unit 7 is online with its good points current; the refused one is stale, never a value.
      expect(snap(`${bus}_7`)).toMatchObject({ online: true, state: { status: 70, setpoint: 71 }, quality: { status: 'good', setpoint: 'good', limit: 'stale' } });
      expect(snap(`${bus}_7`).state['limit']).toBeUndefined();
      expect(snap(`${bus}_8`)).toMatchObject({ online: true, state: { level: 80 }, quality: { level: 'good' } });
    }
    expect(snap('clean_7')).toMatchObject({ online: true, state: { status: 70, setpoint: 71, limit: 72 }, quality: { limit: 'good' } });
  });
});
