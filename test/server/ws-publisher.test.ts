/**
 * The WebSocket publisher is a diff consumer like the history and the alarms: added in the
 * composition root, listed with them, its counters in /api/v1/status, and the only path by
 * which a diff reaches the device topics. A real gateway (port 0) and a real client.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { getJson, pollUntil, postJson, startGateway, TestClient, type RunningGateway } from '../helpers/gateway.js';

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw.stop());

it('is added to the gateway consumers, after the others, and publishes each diff to its device topic', async () => {
  const names = gw.gateway.consumers().map((c) => c.name);
  expect(names).toContain('history');
  expect(names.at(-1)).toBe('websocket');
  const publisher = gw.gateway.consumers().find((c) => c.name === 'websocket')!;
  expect(publisher).toBe(gw.gateway.server.publisher);

  const c = await TestClient.connect(`${gw.wsUrl}?devices=motor_01`);
  const before = publisher.health!().counters!['publishes_total']!;
  const res = await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1717 });
  expect(res.status).toBe(200);
  const u = await c.next((m) => m['type'] === 'device_update' && m['seq'] === res.json.seq);
  expect(u['data'].new_state.speed).toBe(1717);
  expect(publisher.health!().counters!['publishes_total']!).toBeGreaterThan(before);

  const status = await getJson(`${gw.url}/api/v1/status`);
  const listed = status.json.consumers.find((x: { name: string }) => x.name === 'websocket');
  expect(listed).toMatchObject({ ok: true, counters: { connections: 1 } });
  c.close();
});

it('serialises nothing for a device no socket subscribes to', async () => {
  const publisher = gw.gateway.consumers().find((c) => c.name === 'websocket')!;
  // No socket at all (the one above is closed): the write's diff, and any poll's, go nowhere.
  await pollUntil(async () => gw.gateway.server.publisher.health!().counters!['connections'], (n) => n === 0);
  const before = publisher.health!().counters!['publishes_total']!;
  const res = await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1212 });
  expect(res.status).toBe(200);
  expect(publisher.health!().counters!['publishes_total']!).toBe(before);
  // A socket subscribed to the device: its diffs are published.
  const c = await TestClient.connect(`${gw.wsUrl}?devices=motor_01`);
  const again = await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1313 });
  await c.next((m) => m['type'] === 'device_update' && m['seq'] === again.json.seq);
  expect(publisher.health!().counters!['publishes_total']!).toBeGreaterThan(before);
  c.close();
});
