/**
 * The batch form of `subscribe` (`"devices": {id: since | null}`), spoken raw: each device is
 * answered exactly as a single subscribe would be, in the order given, and `subscribed_batch`
 * with the request id closes the batch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, startGateway, type Msg, type RunningGateway } from '../helpers/gateway.js';
import { deviceUpdateMessage } from '../../src/server/protocol.js';
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
async function connect(query = '?devices=', g: RunningGateway = gw): Promise<TestClient> {
  const c = await TestClient.connect(g.wsUrl + query);
  clients.push(c);
  return c;
}
/** The messages before the batch reply, without live updates that follow a device's answer. */
const before = (c: TestClient, end: Msg): Msg[] => c.messages.slice(1, c.messages.indexOf(end));

describe('batch subscribe', () => {
  it('replays one device, snapshots another (since null), in the order given, then closes with subscribed_batch and the id', async () => {
    const first = await connect('?devices=motor_01');
    const instance = first.messages[0]!['instance'] as string;
    const since = (await first.next((m) => m['type'] === 'device_update'))['seq'] as number;
    first.close();
    await until(() => gw.gateway.registry.seq('motor_01')! >= since + 5);

    const c = await connect();
    const done = await c.request({ action: 'subscribe', devices: { motor_01: since, sensor_01: null }, instance });
    expect(done).toMatchObject({ type: 'subscribed_batch', count: 2, subscribed: 2, failed: [] });
    const msgs = before(c, done);
    const motorSub = msgs.find((m) => m['type'] === 'subscribed' && m['device_id'] === 'motor_01')!;
    const sensorSub = msgs.find((m) => m['type'] === 'subscribed' && m['device_id'] === 'sensor_01')!;
    // Per-device answers carry no id: only the batch reply does.
    expect(motorSub['id']).toBeUndefined();
    expect(sensorSub['id']).toBeUndefined();
    expect(msgs.indexOf(motorSub)).toBeLessThan(msgs.indexOf(sensorSub));
    const replay = msgs.slice(0, msgs.indexOf(motorSub)).filter((m) => m['type'] === 'device_update');
    expect(replay.every((m) => m['device_id'] === 'motor_01')).toBe(true);
    expect(replay.map((m) => m['seq'])).toEqual(Array.from({ length: motorSub['replayed'] }, (_, i) => since + 1 + i));
    expect(motorSub['replayed']).toBeGreaterThanOrEqual(5);
    expect(motorSub['seq']).toBe(since + motorSub['replayed']);
    expect(sensorSub['data']['seq']).toBe(sensorSub['seq']);
    expect(msgs.some((m) => m['type'] === 'device_status')).toBe(false);
    // Live updates follow each device's answer without a gap.
    const live = await c.next((m) => m['type'] === 'device_update' && m['device_id'] === 'motor_01', 5000, c.messages.indexOf(motorSub) + 1);
    expect(live['seq']).toBe(motorSub['seq'] + 1);
    const liveSensor = await c.next((m) => m['type'] === 'device_update' && m['device_id'] === 'sensor_01', 5000, c.messages.indexOf(sensorSub) + 1);
    expect(liveSensor['seq']).toBe(sensorSub['seq'] + 1);
  });

  it('resyncs every device of a batch from another instance: device_status resync then subscribed, per device in order', async () => {
    const c = await connect();
    const done = await c.request({ action: 'subscribe', devices: { sensor_01: 3, motor_01: 3 }, instance: 'not-this-one' });
    expect(done).toMatchObject({ type: 'subscribed_batch', count: 2, subscribed: 2 });
    const answers = before(c, done)
      .filter((m) => m['type'] !== 'device_update')
      .map((m) => `${m['type']}:${m['device_id']}:${m['resync'] ?? ''}`);
    expect(answers).toEqual(['device_status:sensor_01:true', 'subscribed:sensor_01:', 'device_status:motor_01:true', 'subscribed:motor_01:']);
    for (const m of before(c, done).filter((x) => x['type'] === 'device_status')) expect(m['data']['seq']).toBe(m['seq']);
  });

  it('answers an unknown device in the middle with device_not_found naming it, and still answers the rest', async () => {
    const c = await connect();
    const done = await c.request({ action: 'subscribe', devices: { motor_01: null, ghost_9: null, sensor_01: null }, instance: c.messages[0]!['instance'] });
    expect(done).toMatchObject({ type: 'subscribed_batch', count: 3, subscribed: 2, failed: ['ghost_9'] });
    const answers = before(c, done).filter((m) => m['type'] !== 'device_update');
    expect(answers.map((m) => `${m['type']}:${m['device_id']}`)).toEqual(['subscribed:motor_01', 'error:ghost_9', 'subscribed:sensor_01']);
    expect(answers[1]).toMatchObject({ error_code: 'device_not_found', message: 'Device ghost_9 not found' });
  });

  it.each([
    [{ devices: {} }, /"devices" is empty/],
    [{ devices: [] }, /"devices" must be an object/],
    [{ devices: 'motor_01' }, /"devices" must be an object/],
    [{ devices: { motor_01: 1 }, device_id: 'motor_01' }, /either "device_id" \(one device\) or "devices" \(a batch\), not both/],
    [{ devices: { motor_01: 1 }, since: 3 }, /top-level "since"/],
    [{ devices: { motor_01: -1 } }, /since of "motor_01" must be null or a whole number >= 0/],
    [{ devices: { motor_01: 1.5 } }, /since of "motor_01" must be null or a whole number >= 0/],
    [{ devices: { motor_01: '4' } }, /since of "motor_01" must be null or a whole number >= 0/],
    [{ devices: { 'motor 01': 4 } }, /"motor 01" is not a device id/],
    [{ devices: { motor_01: 4 }, instance: 7 }, /"instance" must be a string/],
  ])('refuses %j with invalid_message, echoing the id, and subscribes to nothing', async (body, message) => {
    const c = await connect();
    const answer = await c.request({ action: 'subscribe', ...body });
    expect(answer).toMatchObject({ type: 'error', error_code: 'invalid_message' });
    expect(answer['message']).toMatch(message);
    expect(c.messages.some((m) => m['type'] === 'subscribed')).toBe(false);
    expect(await c.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('keeps the single-device form as it was', async () => {
    const c = await connect();
    const sub = await c.request({ action: 'subscribe', device_id: 'sensor_01' });
    expect(sub).toMatchObject({ type: 'subscribed', device_id: 'sensor_01' });
    expect(sub['data']['seq']).toBe(sub['seq']);
  });
});

describe('batch subscribe under limits', () => {
  it('applies limits.max_subscriptions per device: those past the cap get too_many_subscriptions, the batch still closes', async () => {
    const small = await startGateway({
      log: { level: 'warn' },
      limits: { max_subscriptions: 1 },
      devices: [
        { id: 'motor_01', driver: 'simulator', model: 'motor', poll_interval_ms: 50 },
        { id: 'sensor_01', driver: 'simulator', model: 'sensor', poll_interval_ms: 50 },
      ],
    });
    try {
      const c = await connect('?devices=', small);
      const done = await c.request({ action: 'subscribe', devices: { motor_01: null, sensor_01: null } });
      expect(done).toMatchObject({ type: 'subscribed_batch', count: 2, subscribed: 1, failed: ['sensor_01'] });
      const err = before(c, done).find((m) => m['type'] === 'error')!;
      expect(err).toMatchObject({ error_code: 'too_many_subscriptions', device_id: 'sensor_01' });
      expect(err['message']).toMatch(/limits\.max_subscriptions/);
      c.close();
    } finally {
      await small.stop();
    }
  });
});

describe('batch subscribe and backpressure', () => {
  it('lets the replays of one batch share half the backpressure limit: a device past it resyncs, as a too-large single replay does', async () => {
    const limit = 16_384;
    const g = await startGateway({
      log: { level: 'warn' },
      registry: { replay_size: 1000 },
      server: { max_backpressure_bytes: limit },
      devices: [
        { id: 'motor_01', driver: 'simulator', model: 'motor', poll_interval_ms: 10 },
        { id: 'motor_02', driver: 'simulator', model: 'motor', poll_interval_ms: 10 },
      ],
    });
    try {
      const { registry } = g.gateway;
      /** The since whose replay is at least `bytes` long as of now (a few more diffs may follow). */
      const sinceFor = (id: string, bytes: number): number | undefined => {
        const seq = registry.seq(id)!;
        for (let s = seq - 1; s >= 0; s--) {
          const missed = registry.since(id, s);
          if (missed === null) return undefined;
          if (missed.map(deviceUpdateMessage).reduce((n, t) => n + t.length, 0) >= bytes) return s;
        }
        return undefined;
      };
      // Each replay alone fits (just over a quarter of the limit against a half, with room for diffs that
      // arrive meanwhile), both together do not.
      let a: number | undefined;
      let b: number | undefined;
      await until(() => {
        a = sinceFor('motor_01', limit * 0.27);
        b = sinceFor('motor_02', limit * 0.27);
        return a !== undefined && b !== undefined;
      });
      const c = await connect('?devices=', g);
      const done = await c.request({ action: 'subscribe', devices: { motor_01: a, motor_02: b }, instance: registry.instance });
      expect(done).toMatchObject({ type: 'subscribed_batch', count: 2, subscribed: 2 });
      const answers = before(c, done).filter((m) => m['type'] !== 'device_update');
      expect(answers.map((m) => `${m['type']}:${m['device_id']}:${m['resync'] ?? m['replayed'] ?? ''}`)).toEqual([
        `subscribed:motor_01:${answers[0]!['replayed']}`,
        'device_status:motor_02:true',
        'subscribed:motor_02:',
      ]);
      expect(answers[0]!['replayed']).toBeGreaterThan(0);
      expect(c.closed).toBeUndefined();
    } finally {
      await g.stop();
    }
  });
});
