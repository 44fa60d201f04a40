/**
 * A client written from the ADR alone, against the real uWS server on port 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TestClient, postJson, startGateway, type Msg, type RunningGateway } from '../helpers/gateway.js';

let gw: RunningGateway;
const clients: TestClient[] = [];
async function client(query = ''): Promise<TestClient> {
  const c = await TestClient.connect(gw.wsUrl + query);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  gw = await startGateway({ server: { max_connections: 110 } });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await gw.stop();
});

describe('the ADR WebSocket protocol', () => {
  it('welcomes a client with connection_established, its id, the count and the device snapshot', async () => {
    const c = await client('?client_id=panel_7');
    const hello = c.messages[0]!;
    expect(hello).toMatchObject({ type: 'connection_established', client_id: 'panel_7' });
    expect(typeof hello['message']).toBe('string');
    expect(typeof hello['timestamp']).toBe('number');
    expect(hello['total_connections']).toBeGreaterThanOrEqual(1);
    expect(hello['devices'].map((d: { device_id: string }) => d.device_id).sort()).toEqual(['motor_01', 'motor_02', 'sensor_01', 'sensor_02']);
  });

  it('answers subscribe, unsubscribe, get_status and get_all_status', async () => {
    const c = await client();
    expect(await c.request({ action: 'subscribe', device_id: 'motor_01' })).toMatchObject({ type: 'subscribed', device_id: 'motor_01' });
    expect(await c.request({ action: 'unsubscribe', device_id: 'motor_01' })).toMatchObject({ type: 'unsubscribed', device_id: 'motor_01' });
    const status = await c.request({ action: 'get_status', device_id: 'sensor_01' });
    expect(status).toMatchObject({ type: 'device_status', device_id: 'sensor_01', data: { device_id: 'sensor_01', device_type: 'sensor' } });
    expect(status['data'].state).toHaveProperty('temperature');
    const all = await c.request({ action: 'get_all_status' });
    expect(all['type']).toBe('all_devices_status');
    expect(all['devices']).toHaveLength(4);
    expect(await c.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('broadcasts a REST control write to every connected client as a device_update with the ADR fields', async () => {
    const a = await client();
    const b = await client();
    const from = [a.messages.length, b.messages.length];
    const speed = 1000 + Math.floor(Math.random() * 1000);
    const res = await postJson(`${gw.url}/api/v1/devices/motor_02`, { speed });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ device_id: 'motor_02', device_type: 'motor', new_state: { speed }, changed: true, action: 'device_control' });
    for (const [i, c] of [a, b].entries()) {
      const u = await c.next((m) => m['type'] === 'device_update' && m['data'].action === 'device_control' && m['data'].new_state.speed === speed, 5000, from[i]);
      expect(u).toMatchObject({ type: 'device_update', device_id: 'motor_02' });
      expect(Object.keys(u['data']).sort()).toEqual(['action', 'changed', 'device_id', 'device_type', 'new_state', 'previous_state']);
      expect(u['data'].changed).toBe(true);
      expect(typeof u['timestamp']).toBe('number');
      expect(u['seq']).toBe(res.json.seq);
    }
  });

  it('sends nothing for a device to a client that unsubscribed from it', async () => {
    const quiet = await client();
    const loud = await client();
    await quiet.request({ action: 'unsubscribe', device_id: 'motor_01' });
    const from = quiet.messages.length;
    await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 777 });
    // The other client hearing the write, then a later update of another device, proves delivery happened.
    await loud.next((m) => m['type'] === 'device_update' && m['data'].new_state.speed === 777);
    await quiet.next((m) => m['type'] === 'device_update' && m['device_id'] === 'sensor_01', 5000, from);
    expect(quiet.messages.slice(from).filter((m) => m['device_id'] === 'motor_01')).toEqual([]);
  });

  /** How often the client got this device's update `seq` since message `from`, once a later update of another device came. */
  async function timesHeard(c: TestClient, from: number, device: string, seq: number): Promise<number> {
    const isIt = (m: Msg) => m['type'] === 'device_update' && m['device_id'] === device && m['seq'] === seq;
    await c.next(isIt, 5000, from);
    // A later update of another device: anything sent twice would have arrived before it.
    await c.next((m) => m['type'] === 'device_update' && m['device_id'] === 'sensor_01', 5000, c.messages.length);
    return c.messages.slice(from).filter(isIt).length;
  }

  it('a client of every device hears each diff once, also after subscribing to one it already hears', async () => {
    const c = await client();
    expect(await c.request({ action: 'subscribe', device_id: 'motor_02' })).toMatchObject({ type: 'subscribed', device_id: 'motor_02' });
    const from = c.messages.length;
    const res = await postJson(`${gw.url}/api/v1/devices/motor_02`, { speed: 1357 });
    expect(await timesHeard(c, from, 'motor_02', res.json.seq)).toBe(1);
  });

  it('a client of every device that unsubscribes from one keeps the others, and can take it back', async () => {
    const c = await client();
    await c.request({ action: 'unsubscribe', device_id: 'motor_01' });
    const from = c.messages.length;
    const other = await postJson(`${gw.url}/api/v1/devices/motor_02`, { speed: 1111 });
    expect(await timesHeard(c, from, 'motor_02', other.json.seq)).toBe(1);
    await c.request({ action: 'subscribe', device_id: 'motor_01' });
    const back = c.messages.length;
    const res = await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 2222 });
    expect(await timesHeard(c, back, 'motor_01', res.json.seq)).toBe(1);
  });

  it('starts with only the devices named in ?devices=', async () => {
    const c = await client('?devices=sensor_02');
    expect(c.messages[0]!['devices'].map((d: { device_id: string }) => d.device_id)).toEqual(['sensor_02']);
    await c.next((m) => m['type'] === 'device_update');
    await c.next((m) => m['type'] === 'device_update' && m !== c.messages.find((x) => x['type'] === 'device_update'));
    expect(new Set(c.messages.filter((m) => m['type'] === 'device_update').map((m) => m['device_id']))).toEqual(new Set(['sensor_02']));
  });

  it('delivers a diff to 100 clients at once', async () => {
    const many = await Promise.all(Array.from({ length: 100 }, () => client()));
    const froms = many.map((c) => c.messages.length);
    await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 2345 });
    const got = await Promise.all(many.map((c, i) => c.next((m) => m['type'] === 'device_update' && m['data'].new_state.speed === 2345, 10_000, froms[i])));
    expect(got).toHaveLength(100);
    for (const c of many) c.close();
  });
});

describe('bad WebSocket input gets a coded error and the connection survives', () => {
  it.each([
    ['not json', 'invalid_json'],
    ['[1,2]', 'invalid_message'],
    ['"text"', 'invalid_message'],
    ['{}', 'invalid_message'],
    ['{"action": 5}', 'invalid_message'],
    ['{"action": "explode"}', 'unknown_action'],
    ['{"action": "subscribe"}', 'invalid_message'],
    ['{"action": "get_status", "device_id": ""}', 'invalid_message'],
    ['{"action": "get_status", "device_id": "motor_99"}', 'device_not_found'],
    ['{"action": "subscribe", "device_id": "motor_01", "since": -1}', 'invalid_message'],
  ])('%s -> %s', async (raw, code) => {
    const c = await client();
    const from = c.messages.length;
    c.send(raw);
    const err = await c.next((m) => m['type'] === 'error', 5000, from);
    expect(err['error_code']).toBe(code);
    expect(err['message']).toEqual(expect.any(String));
    expect(err['message']).not.toMatch(/at .*\.ts:\d+/); // no stack traces
    expect(await c.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
    c.close();
  });

  it('echoes the request id on errors too', async () => {
    const c = await client();
    const err = await c.request({ action: 'get_status', device_id: 'motor_99' });
    expect(err).toMatchObject({ type: 'error', error_code: 'device_not_found', message: 'Device motor_99 not found' });
    c.close();
  });

  it('closes the socket with 1009 on a message over 1024 bytes', async () => {
    const c = await client();
    c.send(JSON.stringify({ action: 'ping', pad: 'x'.repeat(1025) }));
    expect((await c.waitClose()).code).toBe(1009);
    const d = await client(); // the server lives on
    expect(await d.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
  });
});

describe('connection limit', () => {
  it('refuses the connection over max_connections with a clear reason, and accepts again after one leaves', async () => {
    const limited = await startGateway({ server: { max_connections: 3 } });
    try {
      const held = await Promise.all([0, 1, 2].map(() => TestClient.connect(limited.wsUrl)));
      const refused = await new Promise<{ status: number; body: string }>((resolve) => {
        const ws = new WebSocket(limited.wsUrl);
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        ws.on('error', () => undefined);
      });
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.body)).toMatchObject({ error_code: 'too_many_connections' });
      expect(JSON.parse(refused.body).message).toMatch(/3 WebSocket connections/);
      held[0]!.close();
      await held[0]!.waitClose();
      const again = await TestClient.connect(limited.wsUrl);
      again.close();
      for (const c of held) c.close();
    } finally {
      await limited.stop();
    }
  });
});
