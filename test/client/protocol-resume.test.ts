/**
 * The server side of resumption, spoken raw (no typed client): snapshots state the seq they
 * reflect and live updates continue right after it; `since` replays exactly the missed diffs
 * or answers with a resync when it cannot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, startGateway, type Msg, type RunningGateway } from '../helpers/gateway.js';
import { until } from './fixtures.js';

let gw: RunningGateway;
const clients: TestClient[] = [];
beforeAll(async () => {
  gw = await startGateway({
    log: { level: 'warn' },
    registry: { replay_size: 50 },
    devices: [
      { id: 'motor_01', driver: 'simulator', model: 'motor', poll_interval_ms: 10 },
      { id: 'sensor_01', driver: 'simulator', model: 'sensor', poll_interval_ms: 10 },
    ],
  });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.stop();
});
async function connect(query = ''): Promise<TestClient> {
  const c = await TestClient.connect(gw.wsUrl + query);
  clients.push(c);
  return c;
}
const updatesOf = (c: TestClient, id: string, from = 0): Msg[] => c.messages.slice(from).filter((m) => m['type'] === 'device_update' && m['device_id'] === id);

describe('snapshot and stream without a race', () => {
  it('the first update after the welcome snapshot is exactly its seq + 1, for every device', async () => {
    const c = await connect();
    const hello = c.messages[0]!;
    for (const d of hello['devices'] as Msg[]) {
      const first = await c.next((m) => m['type'] === 'device_update' && m['device_id'] === d['device_id']);
      expect(first['seq'], d['device_id']).toBe(d['seq'] + 1);
    }
  });

  it('after unsubscribe, subscribe answers with a snapshot whose seq the next update follows', async () => {
    const c = await connect('?devices=motor_01');
    await c.request({ action: 'unsubscribe', device_id: 'motor_01' });
    const sub = await c.request({ action: 'subscribe', device_id: 'motor_01' });
    expect(sub['data']['seq']).toBe(sub['seq']);
    const from = c.messages.indexOf(sub);
    const next = await c.next((m) => m['type'] === 'device_update' && m['device_id'] === 'motor_01', 5000, from);
    expect(next['seq']).toBe(sub['seq'] + 1);
  });
});

describe('subscribe with since', () => {
  it('replays the missed diffs in order, states the seq it reached, and live updates follow without overlap', async () => {
    const first = await connect('?devices=motor_01');
    const instance = first.messages[0]!['instance'] as string;
    const since = (await first.next((m) => m['type'] === 'device_update'))['seq'] as number;
    first.close();
    // Wait until the device moved on by a few diffs, still within the ring of 50.
    await until(() => gw.gateway.registry.seq('motor_01')! >= since + 5);

    const c = await connect('?devices=');
    expect(c.messages[0]!['devices']).toEqual([]);
    const sub = await c.request({ action: 'subscribe', device_id: 'motor_01', since, instance });
    expect(sub).toMatchObject({ type: 'subscribed', device_id: 'motor_01' });
    const replayed = updatesOf(c, 'motor_01', 0).filter((m) => c.messages.indexOf(m) < c.messages.indexOf(sub));
    expect(replayed.map((m) => m['seq'])).toEqual(Array.from({ length: sub['replayed'] }, (_, i) => since + 1 + i));
    expect(sub['replayed']).toBeGreaterThanOrEqual(5);
    expect(sub['seq']).toBe(since + sub['replayed']);
    const live = await c.next((m) => m['type'] === 'device_update', 5000, c.messages.indexOf(sub) + 1);
    expect(live['seq']).toBe(sub['seq'] + 1);
  });

  it.each([
    ['from another instance', (seq: number) => ({ since: seq, instance: 'not-this-one' })],
    ['without an instance', (seq: number) => ({ since: seq })],
    ['from the future', (seq: number, instance: string) => ({ since: seq + 1_000, instance })],
    ['older than the ring', (seq: number, instance: string) => ({ since: Math.max(0, seq - 60), instance })],
  ])('resyncs a since %s with a fresh device_status marked resync', async (_what, body) => {
    await until(() => gw.gateway.registry.seq('sensor_01')! > 60);
    const c = await connect('?devices=');
    const instance = c.messages[0]!['instance'] as string;
    const seq = gw.gateway.registry.seq('sensor_01')!;
    const sub = await c.request({ action: 'subscribe', device_id: 'sensor_01', ...body(seq, instance) });
    const status = c.messages.find((m) => m['type'] === 'device_status')!;
    expect(status).toMatchObject({ device_id: 'sensor_01', resync: true });
    expect(status['data']['seq']).toBe(status['seq']);
    expect(c.messages.indexOf(status)).toBeLessThan(c.messages.indexOf(sub));
    expect(updatesOf(c, 'sensor_01').filter((m) => c.messages.indexOf(m) < c.messages.indexOf(sub))).toEqual([]);
    const live = await c.next((m) => m['type'] === 'device_update', 5000, c.messages.indexOf(sub) + 1);
    expect(live['seq']).toBe(status['seq'] + 1);
  });
});
