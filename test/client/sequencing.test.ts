/**
 * The client's reaction to a misbehaving stream, against a scripted WebSocket peer (this layer
 * alone): duplicates are dropped, a gap makes it re-subscribe with `since`, and the refill is
 * applied in order before anything newer.
 */
import { afterEach, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { GatewayClient, type ResyncEvent, type WebSocketConstructor } from '../../src/client/index.js';

let server: WebSocketServer | undefined;
let client: GatewayClient | undefined;
afterEach(async () => {
  client?.stop();
  for (const s of server?.clients ?? []) s.terminate();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = client = undefined;
});

const device = (seq: number, speed: number) => ({
  device_id: 'm1',
  device_type: 'motor',
  name: 'm1',
  state: { speed },
  online: true,
  last_update: 1,
  seq,
  points: { speed: { type: 'integer', access: 'rw' } },
});
const update = (seq: number, speed: number) =>
  JSON.stringify({
    type: 'device_update',
    device_id: 'm1',
    seq,
    timestamp: 10 + seq,
    data: { device_id: 'm1', device_type: 'motor', previous_state: {}, new_state: { speed }, changed: true, action: 'poll' },
  });

it('drops duplicates, and on a gap re-subscribes from its last seq and applies the refill in order', async () => {
  server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server!.once('listening', () => resolve()));
  const requests: Record<string, unknown>[] = [];
  server.on('connection', (ws) => {
    ws.send(JSON.stringify({ type: 'connection_established', message: 'hi', timestamp: 0, total_connections: 1, instance: 'i1', devices: [device(1, 100)] }));
    // 2, 2 again (duplicate), then 5: 3 and 4 went missing.
    for (const text of [update(2, 102), update(2, 999), update(5, 105), update(6, 106)]) ws.send(text);
    ws.on('message', (raw) => {
      const req = JSON.parse(raw.toString()) as Record<string, unknown>;
      requests.push(req);
      if (req['action'] === 'subscribe') {
        for (const n of [3, 4, 5, 6, 7]) ws.send(update(n, 100 + n));
        ws.send(JSON.stringify({ type: 'subscribed', device_id: 'm1', seq: 7, replayed: 5, id: req['id'], timestamp: 0 }));
        ws.send(update(8, 108));
      }
    });
  });
  const { port } = server.address() as { port: number };
  client = new GatewayClient({ url: `http://127.0.0.1:${port}`, WebSocket: WebSocket as unknown as WebSocketConstructor });
  const applied: number[] = [];
  const resyncs: ResyncEvent[] = [];
  client.on('update', (u) => applied.push(u.seq));
  client.on('resync', (r) => resyncs.push(r));
  const done = new Promise<void>((resolve) => client!.on('update', (u) => u.seq === 8 && resolve()));
  client.start();
  await done;

  expect(applied).toEqual([2, 3, 4, 5, 6, 7, 8]);
  expect(client.device('m1')).toMatchObject({ seq: 8, state: { speed: 108 } });
  expect(requests.filter((r) => r['action'] === 'subscribe')).toEqual([{ action: 'subscribe', device_id: 'm1', since: 2, instance: 'i1', id: expect.any(String) }]);
  expect(client.stats).toMatchObject({ duplicates: 1, gaps: 1 });
  expect(resyncs.map((r) => [r.reason, r.snapshot, r.seq])).toEqual([
    ['initial', true, 1],
    ['gap', false, 7],
  ]);
});
