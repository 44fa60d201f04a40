/**
 * An alarm flood: 100 devices cross their limits at once. The gateway keeps serving REST and
 * WebSocket clients, every alarm is raised, journalled and published, the rate metric shows the
 * flood, and one "ack all" clears the unacknowledged count. Chattering is counted.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJson, postJson, startGateway, TestClient, type RunningGateway } from '../helpers/gateway.js';
import { waitFor } from '../peers/modbus.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const N = 100;
const ids = Array.from({ length: N }, (_, i) => `motor_${String(i + 1).padStart(3, '0')}`);

async function gateway(): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'mgw-flood-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const gw = await startGateway({
    log: { level: 'warn' },
    state_dir: dir,
    server: { max_connections: 200 },
    devices: ids.map((id) => ({ id, driver: 'simulator' as const, model: 'motor' as const, poll_interval_ms: 200, alarms: { points: { speed: { hi: 2500 } } } })),
  });
  cleanups.push(() => gw.stop());
  await waitFor('every device online', () => gw.gateway.registry.list().every((d) => d.online), 20_000);
  return gw;
}

async function metric(gw: RunningGateway, name: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (line === undefined) throw new Error(`no metric ${name}`);
  return Number(line.split(' ').at(-1));
}

describe('an alarm flood', () => {
  test('100 devices crossing at once: every alarm raised and published, the gateway keeps serving, the rate shows it', async () => {
    const gw = await gateway();
    const devicesWs = await TestClient.connect(gw.wsUrl);
    const alarmsWs = await TestClient.connect(`${gw.wsUrl}?devices=`);
    cleanups.push(() => devicesWs.close(), () => alarmsWs.close());
    await alarmsWs.request({ action: 'subscribe', topic: 'alarms' });
    expect(await metric(gw, 'mgw_alarm_rate_10m')).toBe(0);

    // Every drive to 3000 rpm in the same tick, through the control service (the path of a REST write).
    const writes = Promise.all(ids.map((id) => gw.gateway.control.write(id, { speed: 3000 })));
    const during = await Promise.all([getJson(`${gw.url}/healthz`), getJson(`${gw.url}/api/v1/devices`), getJson(`${gw.url}/api/v1/alarms`)]);
    await writes;
    expect(during.map((r) => r.status)).toEqual([200, 200, 200]);

    await waitFor('100 raises published', () => alarmsWs.messages.filter((m) => m['type'] === 'alarm_event').length >= N && true);
    expect(new Set(alarmsWs.messages.filter((m) => m['type'] === 'alarm_event').map((m) => m['event'].alarm_id)).size).toBe(N);
    // Device updates kept flowing to the other client.
    const updates = devicesWs.messages.filter((m) => m['type'] === 'device_update').length;
    await waitFor('more device updates', () => devicesWs.messages.filter((m) => m['type'] === 'device_update').length > updates + N);

    const list = (await getJson(`${gw.url}/api/v1/alarms`)).json;
    expect(list).toMatchObject({ count: N, unacked: N, counts: { medium: N } });
    expect(await metric(gw, 'mgw_alarm_rate_10m')).toBe(N);
    expect(await metric(gw, 'mgw_alarms_unacknowledged')).toBe(N);
    expect(await metric(gw, 'mgw_alarms_active{priority="medium"}')).toBe(N);
    await gw.gateway.alarms.journal.flush();
    expect((await gw.gateway.alarms.journal.read({ limit: 1000 })).events.filter((e) => e.transition === 'raise').length).toBe(N);

    const acked = await postJson(`${gw.url}/api/v1/alarms/ack`, { all: true });
    expect(acked.json.changed).toBe(N);
    expect(await metric(gw, 'mgw_alarms_unacknowledged')).toBe(0);
    expect(await metric(gw, 'mgw_alarm_rate_10m')).toBe(N);
  });

  test('an alarm raised three times within a minute counts as chattering', async () => {
    const gw = await gateway();
    for (let i = 0; i < 3; i++) {
      await gw.gateway.control.write('motor_001', { speed: 3000 });
      await gw.gateway.control.write('motor_001', { speed: 1000 });
    }
    expect(await metric(gw, 'mgw_alarms_chattering')).toBe(1);
    expect(await metric(gw, 'mgw_alarm_chatter_detections_total')).toBe(1);
    expect(await metric(gw, 'mgw_alarms_raised_total')).toBe(3);
  });
});
