/**
 * A reload applies the new alarm config to the running gateway: a removed alarm leaves the list
 * with a `removed` event, a new one is evaluated from the next diff, a kept one keeps its state.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { startGateway } from '../helpers/gateway.js';
import { waitFor } from '../peers/modbus.js';
import type { AlarmEvent } from '../../src/protocol/alarms.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const devices = (m1: unknown, m2: unknown): GatewayConfigInput['devices'] => [
  { id: 'm1', driver: 'simulator', model: 'motor', poll_interval_ms: 50, alarms: m1 as never },
  { id: 'm2', driver: 'simulator', model: 'motor', poll_interval_ms: 50, alarms: m2 as never },
];

describe('alarms on reload', () => {
  test('removed alarms leave with an event, new ones are evaluated, kept ones keep their state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-alarm-reload-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const gw = await startGateway({ log: { level: 'warn' }, state_dir: dir, devices: devices({ points: { speed: { hi: 2500 } } }, { points: { speed: { hi: 2500 } } }) });
    cleanups.push(() => gw.stop());
    const events: AlarmEvent[] = [];
    gw.gateway.alarms.table.onEvent((e) => events.push(e));
    await waitFor('online', () => gw.gateway.registry.list().every((d) => d.online));
    await gw.gateway.control.write('m1', { speed: 3000 });
    await gw.gateway.control.write('m2', { speed: 3000 });
    expect(gw.gateway.alarms.list().map((a) => a.id).sort()).toEqual(['m1.speed.hi', 'm2.speed.hi']);

    // m1 keeps its alarm (same config), m2's speed alarm goes, m2 gets a lo alarm on actual_speed.
    const next = validateConfig({ ...gw.config, devices: devices({ points: { speed: { hi: 2500 } } }, { points: { actual_speed: { lo: 100 } } }) });
    await gw.gateway.reload(next);
    // (m2's driver restarted with the new config: its fresh simulator may clear the old alarm just before it goes.)
    expect(events.find((e) => e.alarm_id === 'm2.speed.hi' && e.transition === 'removed')).toMatchObject({ to: 'normal' });
    expect(gw.gateway.alarms.table.has('m2.speed.hi')).toBe(false);
    // m1's alarm stays, still unacknowledged (the restarted simulator's fresh speed may have cleared it).
    expect(gw.gateway.alarms.table.view('m1.speed.hi')).toMatchObject({ acked: false });
    expect(['active_unack', 'rtn_unack']).toContain(gw.gateway.alarms.table.view('m1.speed.hi')!.state);
    expect(gw.gateway.alarms.table.has('m2.actual_speed.lo')).toBe(true);
    await gw.gateway.control.write('m2', { running: false });
    await waitFor('the new alarm raised as the drive slows down', () => events.find((e) => e.alarm_id === 'm2.actual_speed.lo' && e.transition === 'raise'), 15_000);
  });
});
