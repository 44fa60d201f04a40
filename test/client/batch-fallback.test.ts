/**
 * A gateway from before the batch form answers `"devices"` with invalid_message (it asks for a
 * `device_id`). A proxy in front of the real gateway speaks that older dialect: the client then
 * resumes one device per message, and keeps doing so for that gateway.
 */
import { afterEach, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import type { GatewayClient } from '../../src/client/index.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { Recorder, newClient, until } from './fixtures.js';

let gw: RunningGateway | undefined;
let proxy: WebSocketServer | undefined;
let client: GatewayClient | undefined;
afterEach(async () => {
  client?.stop();
  if (proxy !== undefined) {
    for (const s of proxy.clients) s.terminate();
    await new Promise((resolve) => proxy!.close(resolve));
  }
  await gw?.stop();
  gw = proxy = client = undefined;
});

/** Forwards to the gateway, refusing batch subscribes the way the single-device parser does. */
async function olderGateway(target: RunningGateway): Promise<{ url: string; refused: number[] }> {
  const refused: number[] = [];
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  proxy = server;
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  server.on('connection', (down, req) => {
    const up = new WebSocket(`ws://127.0.0.1:${target.port}${req.url ?? '/ws/devices'}`);
    up.on('message', (data) => down.send(data.toString()));
    up.on('close', () => down.close());
    up.on('error', () => down.terminate());
    down.on('close', () => up.close());
    down.on('message', (data) => {
      const text = data.toString();
      const msg = JSON.parse(text) as Record<string, unknown>;
      if (msg['action'] === 'subscribe' && msg['device_id'] === undefined) {
        refused.push(Object.keys(msg['devices'] as object).length);
        down.send(JSON.stringify({ type: 'error', error_code: 'invalid_message', message: '"subscribe" needs "device_id"', timestamp: Date.now() / 1000, id: msg['id'] }));
        return;
      }
      up.send(text);
    });
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, refused };
}

it('falls back to one subscribe per device when the gateway refuses the batch form, and stays with it', { timeout: 60_000 }, async () => {
  const devices = Array.from({ length: 60 }, (_, i) => ({
    id: `sensor_${String(i + 1).padStart(3, '0')}`,
    driver: 'simulator' as const,
    model: 'sensor' as const,
    poll_interval_ms: 100,
  }));
  gw = await startGateway({ log: { level: 'warn' }, devices });
  const older = await olderGateway(gw);
  const made = newClient(older.url);
  client = made.client;
  const c = client;
  const rec = new Recorder(c);
  const errors: string[] = [];
  c.on('error', (e) => errors.push(e.code));
  c.start();
  await rec.when(() => rec.synced >= 1, 10_000, 'first sync');

  made.control.sockets.at(-1)!.terminate();
  await rec.when(() => rec.synced >= 2, 30_000, 'the resume through the fallback');
  expect(errors).toEqual([]); // the refusal is handled, not passed on
  expect(older.refused.reduce((a, b) => a + b, 0)).toBe(60); // every batch was tried once
  const singles = () => made.control.sent.map((s) => JSON.parse(s.data) as Record<string, unknown>).filter((m) => m['action'] === 'subscribe' && m['device_id'] !== undefined);
  expect(new Set(singles().map((m) => m['device_id'])).size).toBe(60);
  const resumedAt = new Map(c.devices().map((d) => [d.device_id, d.seq]));
  await until(() => c.devices().every((d) => d.seq > resumedAt.get(d.device_id)!), 15_000, 'updates from every device');

  // The next resume from the same gateway goes one by one straight away.
  const refusedBefore = older.refused.length;
  const singlesBefore = singles().length;
  made.control.sockets.at(-1)!.terminate();
  await rec.when(() => rec.synced >= 3, 30_000, 'the second resume');
  expect(older.refused.length).toBe(refusedBefore);
  expect(singles().length - singlesBefore).toBe(60);
  expect(errors).toEqual([]);
});
