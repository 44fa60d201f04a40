/**
 * Alarms against a real Modbus TCP slave (pymodbus) whose registers the test sets: raised in
 * the tick of the poll that crossed the limit, deadband, on-delay, offline when the peer dies,
 * and a restart that keeps unacknowledged alarms.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peers } from '../helpers/peers.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startPyModbus, waitFor, type PyModbusPeer } from '../peers/modbus.js';
import type { AlarmEvent } from '../../src/protocol/alarms.js';
import type { DeviceDiff } from '../../src/core/registry.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function peer(port: number | 0 = 0): Promise<PyModbusPeer> {
  const p = await startPyModbus('tcp', port);
  cleanups.push(() => p.stop());
  return p;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mgw-alarms-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function config(port: number, stateDir: string) {
  return {
    state_dir: stateDir,
    buses: [{ id: 'plc', kind: 'tcp' as const, host: '127.0.0.1', port, timeout_ms: 200, retries: 0, reconnect_max_ms: 300, backoff_max_ms: 300 }],
    devices: [
      {
        id: 'oven',
        driver: 'modbus' as const,
        bus: 'plc',
        unit: 1,
        poll_interval_ms: 50,
        points: {
          temperature: { table: 'holding' as const, address: 0, type: 'int16' as const, scale: 0.1, unit: '°C' },
          pressure: { table: 'holding' as const, address: 1, type: 'uint16' as const, unit: 'kPa' },
        },
        alarms: {
          offline: { priority: 'critical' as const },
          points: {
            temperature: { hi: 50, hihi: { limit: 80, priority: 'critical' as const }, deadband: 2 },
            pressure: { hi: 80, on_delay_ms: 1500 },
          },
        },
      },
    ],
  };
}

async function gateway(input: Parameters<typeof startGateway>[0]): Promise<RunningGateway & { events: AlarmEvent[]; diffs: DeviceDiff[] }> {
  const gw = await startGateway(input);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await gw.stop();
  };
  cleanups.push(stop);
  const events: AlarmEvent[] = [];
  const diffs: DeviceDiff[] = [];
  gw.gateway.alarms.table.onEvent((e) => events.push(e));
  gw.gateway.registry.onDiff((d) => diffs.push(d));
  return { ...gw, stop, events, diffs };
}

const alarm = (gw: RunningGateway, id: string) => gw.gateway.alarms.table.view(id)!;

describe.skipIf(!peers('/usr/bin/python3'))('alarms on a Modbus TCP peer', () => {
  test('a crossing is raised in the tick of the poll that read it; the deadband holds; an on-delay suppresses a short spike', async () => {
    const slave = await peer();
    await slave.set(1, 'hr', 0, [200, 10]); // 20.0 °C, 10 kPa
    const gw = await gateway(config(slave.port, tempDir()));
    await waitFor('first reading', () => gw.gateway.registry.snapshot('oven')!.state['temperature'] === 20);

    // The raise is emitted while the registry dispatches the diff that carried the crossing:
    // the device's seq at the raise is that diff's seq (no later poll came in between).
    let seqAtRaise = -1;
    gw.gateway.alarms.table.onEvent((e) => {
      if (e.alarm_id === 'oven.temperature.hi' && e.transition === 'raise') seqAtRaise = gw.gateway.registry.seq('oven')!;
    });
    await slave.set(1, 'hr', 0, [515]); // 51.5 °C
    await waitFor('the raise', () => gw.events.find((e) => e.alarm_id === 'oven.temperature.hi'));
    const crossing = gw.diffs.find((d) => d.new_state['temperature'] === 51.5)!;
    expect(seqAtRaise).toBe(crossing.seq);
    expect(alarm(gw, 'oven.temperature.hi')).toMatchObject({ state: 'active_unack', value: 51.5, limit: 50, unit: '°C' });

    // 49.0 is below the limit but inside the 2 °C deadband: still active.
    await slave.set(1, 'hr', 0, [490]);
    await waitFor('49.0 read', () => gw.gateway.registry.snapshot('oven')!.state['temperature'] === 49);
    expect(alarm(gw, 'oven.temperature.hi').state).toBe('active_unack');
    await slave.set(1, 'hr', 0, [475]);
    await waitFor('the clear', () => gw.events.find((e) => e.transition === 'clear'));
    expect(alarm(gw, 'oven.temperature.hi').state).toBe('rtn_unack');

    // A spike above 80 kPa shorter than the 1.5 s on-delay: the pending raise is cancelled when it ends.
    await slave.set(1, 'hr', 1, [95]);
    await waitFor('the spike read and its delay armed', () => gw.gateway.alarms.evaluator.health().counters!['pending_delays'] === 1);
    await slave.set(1, 'hr', 1, [40]);
    await waitFor('the spike over', () => gw.gateway.registry.snapshot('oven')!.state['pressure'] === 40);
    expect(gw.gateway.alarms.evaluator.health().counters!['pending_delays']).toBe(0);
    expect(alarm(gw, 'oven.pressure.hi').state).toBe('normal');
    // Held above: raised once the delay ran.
    await slave.set(1, 'hr', 1, [95]);
    const raised = await waitFor('the delayed raise', () => gw.events.find((e) => e.alarm_id === 'oven.pressure.hi'));
    const read = gw.diffs.findLast((d) => d.new_state['pressure'] === 95)!;
    expect(raised.time - read.timestamp).toBeGreaterThanOrEqual(1.5 - 0.01);
  });

  test('a dead peer raises the offline alarm; the peer back clears it', async () => {
    const first = await startPyModbus('tcp', 0);
    const port = first.port;
    await first.set(1, 'hr', 0, [200, 10]);
    const gw = await gateway(config(port, tempDir()));
    await waitFor('online', () => gw.gateway.registry.snapshot('oven')!.online);
    await first.stop();
    const raised = await waitFor('offline raised', () => gw.events.find((e) => e.alarm_id === 'oven.offline' && e.transition === 'raise'), 15_000);
    expect(raised).toMatchObject({ priority: 'critical', to: 'active_unack' });
    // The point alarms are held, and their quality alarms stay quiet: one alarm for one cause.
    expect(gw.events.filter((e) => e.alarm_id.endsWith('.quality'))).toEqual([]);
    const again = await peer(port);
    await again.set(1, 'hr', 0, [200, 10]);
    await waitFor('offline cleared', () => gw.events.find((e) => e.alarm_id === 'oven.offline' && e.transition === 'clear'), 15_000);
    expect(alarm(gw, 'oven.offline').state).toBe('rtn_unack');
  });

  test('a restart keeps active and returned alarms unacknowledged, and the seq goes on', async () => {
    const slave = await peer();
    await slave.set(1, 'hr', 0, [850, 10]); // 85 °C: hi and hihi
    const dir = tempDir();
    const gw = await gateway(config(slave.port, dir));
    await waitFor('hi and hihi raised', () => gw.events.filter((e) => e.transition === 'raise').length >= 2 && gw.events);
    await slave.set(1, 'hr', 0, [600]); // hihi returns (unacknowledged), hi stays active
    await waitFor('hihi cleared', () => gw.events.find((e) => e.transition === 'clear'));
    const seq = gw.gateway.alarms.table.seq;
    await gw.stop();

    const next = await gateway(config(slave.port, dir));
    // Right after start, before any poll could re-raise them.
    expect(alarm(next, 'oven.temperature.hi')).toMatchObject({ state: 'active_unack', value: 85 });
    expect(alarm(next, 'oven.temperature.hihi')).toMatchObject({ state: 'rtn_unack' });
    await waitFor('polled again', () => next.gateway.registry.snapshot('oven')!.state['temperature'] === 60);
    expect(alarm(next, 'oven.temperature.hi').state).toBe('active_unack');
    expect(next.events.filter((e) => e.transition === 'raise')).toEqual([]);
    await next.gateway.alarms.act('ack', 'oven.temperature.hi', { token: 'anna', remote: '127.0.0.1' });
    expect(next.gateway.alarms.table.seq).toBe(seq + 1);
    // The journal of both runs, newest first.
    const { events } = await next.gateway.alarms.journal.read({ limit: 10 });
    expect(events.map((e) => e.transition)).toEqual(['ack', 'clear', 'raise', 'raise']);
  });
});
