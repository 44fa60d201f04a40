/**
 * The gateway process restarts (a new process on the same port, with seqs starting over): the
 * client reconnects by itself and resyncs every device from the new instance.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { GatewayClient } from '../../src/client/index.js';
import { Recorder, newClient, until } from './fixtures.js';
import { freePort, runCli, stopChild, type Child } from './processes.js';

let server: Child | undefined;
let client: GatewayClient | undefined;
let dir: string | undefined;
afterEach(async () => {
  client?.stop();
  await stopChild(server);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  client = server = dir = undefined;
});

it('reconnects by itself after the gateway process restarts and resyncs every device', async () => {
  const port = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'mgw-restart-'));
  const config = join(dir, 'gateway.yaml');
  // One reading per device and then none for an hour: the state to compare holds still.
  writeFileSync(
    config,
    `server: { host: 127.0.0.1, port: ${port} }
log: { level: warn }
devices:
  - { id: motor_01, driver: simulator, model: motor, poll_interval_ms: 3600000 }
  - { id: sensor_01, driver: simulator, model: sensor, poll_interval_ms: 3600000 }
`,
  );
  const ids = ['motor_01', 'sensor_01'];
  server = runCli(['serve', '--config', config]);
  const made = newClient(`http://127.0.0.1:${port}`, { backoff: { initialMs: 50, maxMs: 400 } });
  client = made.client;
  const c = client;
  const rec = new Recorder(c);
  const states: string[] = [];
  c.on('connection', (e) => states.push(e.state));
  c.start(); // the server may not listen yet: the client keeps trying
  await rec.when(() => rec.synced >= 1 && ids.every((id) => c.device(id)?.seq === 1), 15_000, `first sync (server stderr: ${server.stderr})`);
  // A write moves the old process to seq 2 with a setpoint the new process will not have.
  const written = await c.control('motor_01', { speed: 1234 });
  expect(written).toMatchObject({ device_id: 'motor_01', action: 'device_control', new_state: { speed: 1234 } });
  await rec.when(() => c.device('motor_01')!.state['speed'] === 1234, 5000, 'the write to come back as an update');
  const firstInstance = c.instance;

  await stopChild(server);
  await until(() => c.state === 'reconnecting' || c.state === 'connecting', 5000, 'the client to notice');
  server = runCli(['serve', '--config', config]);
  await rec.when(() => rec.synced >= 2, 20_000, `resume (server stderr: ${server.stderr})`);

  expect(c.instance).toBeDefined();
  expect(c.instance).not.toBe(firstInstance);
  expect(states).toContain('reconnecting');
  const resyncs = rec.resyncs.filter((r) => r.reason !== 'initial');
  expect(resyncs.map((r) => [r.device_id, r.reason, r.snapshot]).sort()).toEqual(ids.map((id) => [id, 'new_instance', true]).sort());

  // The new process numbers from 1 again: same seq, other values. The client holds the new ones.
  await until(async () => {
    const server = await c.list();
    return server.every((d) => JSON.stringify([d.state, d.online, d.seq]) === JSON.stringify([c.device(d.device_id)?.state, c.device(d.device_id)?.online, c.device(d.device_id)?.seq]));
  }, 10_000, 'client state to equal the restarted server');
  const after = await c.list();
  expect(after.map((d) => d.device_id).sort()).toEqual(ids);
  for (const d of after) expect(c.device(d.device_id)!.state).toEqual(d.state);
  expect(c.device('motor_01')!.state['speed']).not.toBe(1234);
});
