/**
 * A configuration reload that changes a device gives it a fresh registry entry in the same
 * process. Clients that follow it must not mistake the new numbering for duplicates: they get a
 * resync and then every update again.
 */
import { afterEach, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import type { GatewayClient } from '../../src/client/index.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { Recorder, contiguityProblem, newClient, until } from './fixtures.js';

let gw: RunningGateway | undefined;
let client: GatewayClient | undefined;
afterEach(async () => {
  client?.stop();
  await gw?.stop();
  gw = client = undefined;
});

const devices = (name: string) => [
  { id: 'motor_01', name, driver: 'simulator' as const, model: 'motor' as const, poll_interval_ms: 20 },
  { id: 'sensor_01', driver: 'simulator' as const, model: 'sensor' as const, poll_interval_ms: 20 },
];

it('a device changed by a reload is resynced, live and resumed, and its updates keep coming', async () => {
  gw = await startGateway({ log: { level: 'warn' }, devices: devices('Conveyor') });
  const made = newClient(gw.url);
  client = made.client;
  const c = client;
  const rec = new Recorder(c);
  c.start();
  // A second client is away during the reload and resumes afterwards.
  const away = newClient(gw.url);
  const b = away.client;
  const recB = new Recorder(b);
  b.start();
  await rec.when(() => rec.synced >= 1 && c.device('motor_01')!.seq > 30, 10_000, 'a few updates');
  await recB.when(() => recB.synced >= 1, 10_000, 'second client');
  away.control.open = false;
  away.control.sockets.at(-1)!.terminate();

  // The reload renames motor_01 and adds motor_02.
  const extra = { id: 'motor_02', driver: 'simulator' as const, model: 'motor' as const, poll_interval_ms: 20 };
  const result = await gw.gateway.reload(validateConfig({ ...gw.config, devices: [...devices('Conveyor drive'), extra] }));
  expect(result.restarted).toContain('simulator');
  expect(result.devicesAdded).toEqual(['motor_02']);

  // Live: the renamed device comes back through a resync, then updates flow again.
  await rec.when(() => rec.resyncs.some((r) => r.device_id === 'motor_01' && r.reason !== 'initial'), 10_000, 'a resync of motor_01');
  await rec.when(() => c.device('motor_01')!.name === 'Conveyor drive', 10_000, 'the new name');
  const registry = gw.gateway.registry;
  expect(registry.since('motor_01', 0)).toBeNull(); // the old numbering cannot be replayed across the reload

  away.control.open = true;
  await recB.when(() => recB.synced >= 2, 10_000, 'the second client to resume');
  expect(recB.resyncs.filter((r) => r.reason !== 'initial').map((r) => [r.device_id, r.reason])).toEqual([['motor_01', 'replay_unavailable']]);
  // The device the reload added is found on resume and followed from then on.
  expect(recB.resyncs.filter((r) => r.device_id === 'motor_02').map((r) => r.reason)).toEqual(['initial']);
  await recB.when(() => (recB.applied.get('motor_02')?.length ?? 0) > 3, 10_000, 'updates of the added device');
  b.stop();

  const mark = c.device('motor_01')!.seq;
  await until(() => c.device('motor_01')!.seq >= mark + 10, 10_000, 'updates after the reload');
  for (const d of gw.gateway.driverList()) await d.stop();
  await until(() => ['motor_01', 'sensor_01'].every((id) => c.device(id)!.seq === registry.seq(id)), 10_000, 'catch up');
  for (const id of ['motor_01', 'sensor_01']) {
    expect(c.device(id)!.state).toEqual(registry.snapshot(id)!.state);
    expect(contiguityProblem(rec.applied.get(id) ?? [], rec.base.get(id)!), id).toBeUndefined();
  }
});
