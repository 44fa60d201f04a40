/**
 * The typed client over the batch form: devices the gateway still holds are replayed (no
 * snapshot), and one a reload removed meanwhile is answered, inside the batch, with
 * device_not_found: the client stops following it and resumes the rest.
 */
import { afterEach, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import type { GatewayClient, GatewayClientError } from '../../src/client/index.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { Recorder, contiguityProblem, newClient, until } from './fixtures.js';

let gw: RunningGateway | undefined;
let client: GatewayClient | undefined;
afterEach(async () => {
  client?.stop();
  await gw?.stop();
  gw = client = undefined;
});

const sensor = (id: string) => ({ id, driver: 'simulator' as const, model: 'sensor' as const, poll_interval_ms: 20 });

it('resumes by replay in one batch, and drops a device removed meanwhile with a removed event', { timeout: 30_000 }, async () => {
  gw = await startGateway({ log: { level: 'warn' }, registry: { replay_size: 1000 }, devices: [sensor('sensor_01'), sensor('sensor_02'), sensor('sensor_03')] });
  const made = newClient(gw.url);
  client = made.client;
  const c = client;
  const rec = new Recorder(c);
  const removed: string[] = [];
  const errors: GatewayClientError[] = [];
  c.on('removed', (r) => removed.push(r.device_id));
  c.on('error', (e) => errors.push(e));
  c.start();
  await rec.when(() => rec.synced >= 1 && c.devices().every((d) => d.seq > 3), 10_000, 'a few updates');
  made.control.open = false;
  made.control.sockets.at(-1)!.terminate();

  // sensor_02, in the middle of the batch, goes away while the client is disconnected.
  const result = await gw.gateway.reload(validateConfig({ ...gw.config, devices: [sensor('sensor_01'), sensor('sensor_03')] }));
  expect(result.devicesRemoved).toEqual(['sensor_02']);
  const sentBefore = made.control.sent.length;
  made.control.open = true;
  await rec.when(() => rec.synced >= 2, 10_000, 'the resume');

  const batches = made.control.sent.slice(sentBefore).map((s) => JSON.parse(s.data) as Record<string, unknown>).filter((m) => m['action'] === 'subscribe');
  expect(batches.map((m) => Object.keys(m['devices'] as object))).toEqual([['sensor_01', 'sensor_02', 'sensor_03']]);
  expect(removed).toEqual(['sensor_02']);
  expect(errors.map((e) => [e.code, e.deviceId])).toEqual([['device_not_found', 'sensor_02']]);
  expect(c.devices().map((d) => d.device_id).sort()).toEqual(['sensor_01', 'sensor_03']);
  // Replayed, not resynced: no snapshot after the first one.
  expect(rec.resyncs.filter((r) => r.reason !== 'initial')).toEqual([]);
  expect(c.stats.replayed).toBeGreaterThan(0);
  await until(() => (rec.applied.get('sensor_03')?.length ?? 0) > 20, 10_000, 'updates after the resume');
  for (const id of ['sensor_01', 'sensor_03']) expect(contiguityProblem(rec.applied.get(id)!, rec.base.get(id)!), id).toBeUndefined();
});
