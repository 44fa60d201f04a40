/**
 * The welcome states every device's values and the point metadata once per device type: a real
 * gateway (port 0) and real WebSocket clients. What an ADR client reads stays; the typed client
 * puts the views back together (src/protocol/welcome.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { GatewayClient } from '../../src/client/index.js';
import { devicesOfWelcome, packWelcomeDevices } from '../../src/protocol/welcome.js';
import type { DeviceView } from '../../src/protocol/wire.js';
import { startGateway, TestClient, type RunningGateway } from '../helpers/gateway.js';

let gw: RunningGateway;
const IO = Array.from({ length: 30 }, (_, i) => ({ id: `rio_${i}`, driver: 'simulator' as const, model: 'io' as const, poll_interval_ms: 60_000 }));
beforeAll(async () => {
  gw = await startGateway({
    devices: [
      { id: 'motor_01', driver: 'simulator', model: 'motor', poll_interval_ms: 60_000 },
      { id: 'sensor_01', driver: 'simulator', model: 'sensor', poll_interval_ms: 60_000 },
      // Same type name as sensor_01, other points: it must keep its own metadata.
      { id: 'odd_01', driver: 'simulator', model: 'motor', type: 'sensor', poll_interval_ms: 60_000 },
      ...IO,
    ],
  });
});
afterAll(() => gw.stop());

describe('the welcome', () => {
  it('carries the ADR fields, every device with its values, and each type metadata once', async () => {
    const c = await TestClient.connect(gw.wsUrl);
    const hello = c.messages[0]!;
    expect(hello).toMatchObject({ type: 'connection_established', message: expect.any(String), timestamp: expect.any(Number), total_connections: expect.any(Number) });
    expect(Object.keys(hello['device_types']).sort()).toEqual(['io', 'motor', 'sensor']);
    const byId = new Map<string, Record<string, unknown>>(hello['devices'].map((d: { device_id: string }) => [d.device_id, d]));
    expect(byId.size).toBe(33);
    for (const [id, d] of byId) {
      expect(d, id).toMatchObject({ device_id: id, state: expect.any(Object), online: expect.any(Boolean), seq: expect.any(Number), device_type: expect.any(String) });
      // Only the device whose metadata is not its type's carries its own.
      expect('points' in d, id).toBe(id === 'odd_01');
    }

    // Put back together, the welcome gives the metadata get_all_status gives, device by device.
    const all = await c.request({ action: 'get_all_status' });
    const full = new Map<string, DeviceView>(all['devices'].map((d: DeviceView) => [d.device_id, d]));
    for (const d of devicesOfWelcome(hello)) expect(d.points, d.device_id).toEqual(full.get(d.device_id)!.points);
    expect(devicesOfWelcome(hello).find((d) => d.device_id === 'odd_01')!.points).toHaveProperty('speed');
    expect(devicesOfWelcome(hello).find((d) => d.device_id === 'sensor_01')!.points).not.toHaveProperty('speed');
    // 30 io devices share one copy of their metadata: the welcome is well under the full list.
    expect(JSON.stringify(hello).length).toBeLessThan(JSON.stringify(all['devices']).length / 2);
    c.close();
  });

  it('with ?devices= names only the types of those devices', async () => {
    const c = await TestClient.connect(`${gw.wsUrl}?devices=motor_01`);
    expect(Object.keys(c.messages[0]!['device_types'])).toEqual(['motor']);
    c.close();
  });

  it('comes first even to a client that speaks before it arrives', async () => {
    // The welcome leaves a tick after the upgrade; a request sent at once is answered after it.
    const ws = new WebSocket(gw.wsUrl);
    const got: Record<string, unknown>[] = [];
    const two = new Promise<void>((resolve, reject) => {
      ws.on('message', (d) => {
        got.push(JSON.parse(String(d)) as Record<string, unknown>);
        if (got.length === 2) resolve();
      });
      ws.on('error', reject);
    });
    ws.on('open', () => ws.send(JSON.stringify({ action: 'ping', id: 'early' })));
    await two;
    expect(got.map((m) => m['type'])).toEqual(['connection_established', 'pong']);
    expect(got[0]!['devices']).toHaveLength(33);
    ws.close();
  });

  it('is not sent to a client gone before it left, and the next client is welcomed', async () => {
    for (let i = 0; i < 5; i++) {
      const ws = new WebSocket(gw.wsUrl);
      await new Promise<void>((resolve) => ws.on('open', () => (ws.terminate(), resolve())));
    }
    const c = await TestClient.connect(gw.wsUrl);
    expect(c.messages[0]!['type']).toBe('connection_established');
    c.close();
  });

  it('gives the typed client every device with its metadata', async () => {
    const client = new GatewayClient({ url: gw.url, WebSocket: WebSocket as never });
    const synced = new Promise<void>((resolve) => client.on('synced', () => resolve()));
    client.start();
    await synced;
    try {
      expect(client.devices()).toHaveLength(33);
      expect(Object.keys(client.device('motor_01')!.points)).toContain('speed');
      expect(Object.keys(client.device('rio_3')!.points).length).toBe(20);
      expect(Object.keys(client.device('odd_01')!.points)).toContain('speed');
    } finally {
      client.stop();
    }
  });
});

describe('packWelcomeDevices / devicesOfWelcome', () => {
  const view = (id: string, type: string, points: DeviceView['points']): DeviceView => ({ device_id: id, device_type: type, name: id, state: {}, online: true, last_update: null, seq: 0, points });
  it('keeps a device metadata when it differs from its type (another unit, range or enum)', () => {
    const a = view('a', 't', { x: { type: 'number', access: 'r', unit: 'V' } });
    const b = view('b', 't', { x: { type: 'number', access: 'r', unit: 'V' } });
    const c = view('c', 't', { x: { type: 'number', access: 'r', unit: 'A' } });
    const d = view('d', 't', { x: { type: 'enum', access: 'rw', enum: ['on', 'off'] } });
    const e = view('e', 't', { x: { type: 'enum', access: 'rw', enum: ['off', 'on'] } });
    const packed = packWelcomeDevices([a, b, c, d, e]);
    expect(packed.devices.map((v) => 'points' in v)).toEqual([false, false, true, true, true]);
    expect(devicesOfWelcome(packed)).toEqual([a, b, c, d, e]);
  });
  it('reads a welcome of full views (a gateway from before device_types) as it is', () => {
    const a = view('a', 't', { x: { type: 'boolean', access: 'r' } });
    expect(devicesOfWelcome({ devices: [a] })).toEqual([a]);
  });
});
