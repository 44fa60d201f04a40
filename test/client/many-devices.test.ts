/**
 * The gateway limits how many messages a connection may send (limits.ws_messages_per_s,
 * ws_message_burst). A resume packs many devices into each batch `subscribe` (under the 1024-byte
 * message limit), so 120 devices come back with a handful of messages; the client still paces
 * its requests and slows down when the gateway refuses some.
 */
import { afterEach, expect, it } from 'vitest';
import type { GatewayClient, GatewayClientError } from '../../src/client/index.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { Recorder, newClient, until } from './fixtures.js';

let gw: RunningGateway | undefined;
let client: GatewayClient | undefined;
afterEach(async () => {
  client?.stop();
  await gw?.stop();
  gw = client = undefined;
});

it('resumes 120 devices with a handful of batch messages, each under the message size limit, and no refusal', { timeout: 90_000 }, async () => {
  const devices = Array.from({ length: 120 }, (_, i) => ({
    id: `sensor_${String(i + 1).padStart(3, '0')}`,
    driver: 'simulator' as const,
    model: 'sensor' as const,
    poll_interval_ms: 200,
  }));
  gw = await startGateway({ log: { level: 'warn' }, devices });
  const made = newClient(gw.url);
  client = made.client;
  const c = client;
  const rec = new Recorder(c);
  const errors: GatewayClientError[] = [];
  c.on('error', (e) => errors.push(e));
  c.start();
  await rec.when(() => rec.synced >= 1, 10_000, 'first sync');
  expect(c.devices()).toHaveLength(120);

  const inBefore = gw.gateway.server.stats.messagesIn;
  const sentBefore = made.control.sent.length;
  made.control.sockets.at(-1)!.terminate();
  await rec.when(() => rec.synced >= 2, 30_000, 'the resume of every device');
  expect(errors.map((e) => e.code)).toEqual([]);
  expect(c.stats).toMatchObject({ reconnects: 1, throttled: 0 });
  // 120 devices in batches of about 45 (the ids and seqs that fit in 1024 bytes), plus the list of devices.
  const received = gw.gateway.server.stats.messagesIn - inBefore;
  expect(received).toBeGreaterThanOrEqual(3);
  expect(received).toBeLessThanOrEqual(6);
  const sent = made.control.sent.slice(sentBefore).map((s) => s.data);
  const batches = sent.map((d) => JSON.parse(d) as Record<string, unknown>).filter((m) => m['devices'] !== undefined);
  expect(batches.flatMap((m) => Object.keys(m['devices'] as object)).sort()).toEqual(devices.map((d) => d.id).sort());
  for (const d of sent) expect(Buffer.byteLength(d)).toBeLessThanOrEqual(1024);

  // Every device is followed again: each one moves on past where it resumed.
  const resumedAt = new Map(c.devices().map((d) => [d.device_id, d.seq]));
  await until(() => c.devices().every((d) => d.seq > resumedAt.get(d.device_id)!), 15_000, 'updates from every device');
});

it('under a stricter gateway limit than its pace, slows down on rate_limited and still resumes every device', { timeout: 90_000 }, async () => {
  const devices = Array.from({ length: 24 }, (_, i) => ({
    id: `sensor_${String(i + 1).padStart(3, '0')}`,
    driver: 'simulator' as const,
    model: 'sensor' as const,
    poll_interval_ms: 200,
  }));
  // Stricter than the client's pace even with batches: 2 messages at once, 1 per second.
  gw = await startGateway({ log: { level: 'warn' }, devices, limits: { ws_messages_per_s: 1, ws_message_burst: 1 } });
  const made = newClient(gw.url);
  client = made.client;
  const c = client;
  const rec = new Recorder(c);
  const errors: string[] = [];
  c.on('error', (e) => errors.push(e.code));
  c.start();
  await rec.when(() => rec.synced >= 1, 10_000, 'first sync');

  made.control.sockets.at(-1)!.terminate();
  await rec.when(() => rec.synced >= 2, 60_000, 'the resume of every device');
  expect(c.stats.reconnects).toBe(1); // slowed down, not closed for flooding
  expect(errors).toEqual([]); // rate_limited is handled, not passed on
  expect(c.stats.throttled).toBeGreaterThan(0);
  const resumedAt = new Map(c.devices().map((d) => [d.device_id, d.seq]));
  await until(() => c.devices().every((d) => d.seq > resumedAt.get(d.device_id)!), 15_000, 'updates from every device');
});

it('against a gateway with a smaller message limit than it assumes, packs smaller batches after each 1009 close and resumes', { timeout: 60_000 }, async () => {
  const devices = Array.from({ length: 40 }, (_, i) => ({
    id: `sensor_${String(i + 1).padStart(3, '0')}`,
    driver: 'simulator' as const,
    model: 'sensor' as const,
    poll_interval_ms: 200,
  }));
  gw = await startGateway({ log: { level: 'error' }, devices, server: { max_message_bytes: 300 } });
  const made = newClient(gw.url);
  client = made.client;
  const c = client;
  const rec = new Recorder(c);
  const errors: string[] = [];
  const closes: number[] = [];
  c.on('error', (e) => errors.push(e.code));
  c.on('connection', (ev) => {
    if (ev.state === 'reconnecting' && ev.code !== undefined) closes.push(ev.code);
  });
  c.start();
  await rec.when(() => rec.synced >= 1, 10_000, 'first sync');

  made.control.sockets.at(-1)!.terminate();
  await rec.when(() => rec.synced >= 2, 30_000, 'the resume with smaller batches');
  expect(errors).toEqual([]);
  expect(closes.filter((code) => code === 1009).length).toBeGreaterThanOrEqual(1);
  // The connection that resumed sent only messages within the gateway's limit.
  const last = made.control.sockets.at(-1)!;
  expect(last.readyState).toBe(last.OPEN);
  const sentOnLast = made.control.sent.filter((s) => s.on === last).map((s) => s.data);
  expect(sentOnLast.filter((d) => d.includes('"devices"')).length).toBeGreaterThan(1);
  for (const d of sentOnLast) expect(Buffer.byteLength(d)).toBeLessThanOrEqual(300);
  const resumedAt = new Map(c.devices().map((d) => [d.device_id, d.seq]));
  expect(resumedAt.size).toBe(40);
  await until(() => c.devices().every((d) => d.seq > resumedAt.get(d.device_id)!), 15_000, 'updates from every device');
});
