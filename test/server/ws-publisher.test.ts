/**
 * The WebSocket publisher is a diff consumer like the history and the alarms: added in the
 * composition root, listed with them, its counters in /api/v1/status, and the only path by
 * which a diff reaches the device topics. A real gateway (port 0) and a real client.
 */
import type { RecognizedString } from 'uWebSockets.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceDiff } from '../../src/core/registry.js';
import type { ServerStats } from '../../src/server/context.js';
import { MAX_WAITING_BYTES, TURN_BYTES, WebSocketPublisher } from '../../src/server/ws-publisher.js';
import { DeviceTopics } from '../../src/server/ws-topics.js';
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

it('a client that connects while paced diffs wait gets each device from its welcome on: nothing older, nothing missed', async () => {
  const publisher = gw.gateway.server.publisher;
  const pendingAtFlush: number[] = [];
  const flush = publisher.flush.bind(publisher);
  publisher.flush = () => {
    pendingAtFlush.push(publisher.pending);
    flush();
  };
  try {
    const watcher = await TestClient.connect(gw.wsUrl);
    await watcher.next((m) => m['type'] === 'connection_established');
    // A burst far larger than one turn: it takes many turns of the loop to go out.
    for (let i = 0; i < 2000; i++) gw.gateway.registry.apply(i % 2 === 0 ? 'motor_01' : 'motor_02', { speed: 1000 + i }, 'poll');
    expect(publisher.pending).toBeGreaterThan(0);
    const late = await TestClient.connect(gw.wsUrl);
    const welcome = await late.next((m) => m['type'] === 'connection_established');
    // The burst's last diffs, through the late client.
    for (const id of ['motor_01', 'motor_02']) {
      const last = gw.gateway.registry.seq(id)!;
      await late.next((m) => m['type'] === 'device_update' && m['device_id'] === id && m['seq'] >= last, 10_000);
    }
    expect(pendingAtFlush.some((n) => n > 0)).toBe(true);
    for (const d of welcome['devices'] as { device_id: string; seq: number }[]) {
      const seqs = late.messages.filter((m) => m['type'] === 'device_update' && m['device_id'] === d.device_id).map((m) => m['seq'] as number);
      // Each diff after the welcome once, in order, from the one after the welcome's seq.
      if (seqs.length > 0) expect(seqs[0]).toBe(d.seq + 1);
      expect(seqs).toEqual(seqs.map((_, k) => d.seq + 1 + k));
    }
    watcher.close();
    late.close();
  } finally {
    publisher.flush = flush;
  }
});

describe('pacing', () => {
  const turn = () => new Promise((r) => setImmediate(r));
  /** A publisher on a fake app: which topics have sockets, and what was published, in order. */
  function paced() {
    const subscribers = new Map<string, number>();
    const published: { topic: string; seq: number; device: string }[] = [];
    const topics = new DeviceTopics();
    topics.attach((t) => subscribers.get(t) ?? 0);
    const publisher = new WebSocketPublisher({ publishes: 0 } as ServerStats, topics);
    publisher.attach({
      numSubscribers: (t: string) => subscribers.get(t) ?? 0,
      publish: (topic: string, message: RecognizedString) => {
        const m = JSON.parse(String(message)) as { device_id: string; seq: number };
        published.push({ topic, seq: m.seq, device: m.device_id });
        return true;
      },
    } as never);
    return { subscribers, published, topics, publisher };
  }
  let seq = 0;
  const diff = (device: string, bytes = 600): DeviceDiff => ({
    device_id: device,
    device_type: 'io',
    previous_state: {},
    new_state: { text: 'x'.repeat(bytes) },
    changed: true,
    action: 'poll',
    seq: ++seq,
    timestamp: 1,
  });

  it('publishes at most TURN_BYTES of diffs per turn of the loop, the rest in order over the next turns', async () => {
    const { subscribers, published, publisher } = paced();
    subscribers.set('d1', 1);
    const sent = Array.from({ length: 100 }, () => diff('d1'));
    for (const d of sent) publisher.onDiff(d);
    const perTurn = Math.floor(TURN_BYTES / 700);
    expect(published.length).toBeGreaterThan(0);
    expect(published.length).toBeLessThanOrEqual(perTurn);
    expect(publisher.pending).toBe(100 - published.length);
    let turns = 0;
    while (publisher.pending > 0) {
      const before = published.length;
      await turn();
      turns++;
      expect(published.length - before).toBeLessThanOrEqual(perTurn);
    }
    expect(turns).toBeGreaterThan(5);
    expect(published.map((p) => p.seq)).toEqual(sent.map((d) => d.seq));
  });

  it('flush publishes everything waiting at once, in order; so does a backlog past MAX_WAITING_BYTES', async () => {
    const { subscribers, published, publisher } = paced();
    subscribers.set('d1', 1);
    const sent = Array.from({ length: 50 }, () => diff('d1'));
    for (const d of sent) publisher.onDiff(d);
    expect(publisher.pending).toBeGreaterThan(0);
    publisher.flush();
    expect(publisher.pending).toBe(0);
    expect(published.map((p) => p.seq)).toEqual(sent.map((d) => d.seq));
    published.length = 0;
    await turn();
    const big = Array.from({ length: Math.ceil(MAX_WAITING_BYTES / 60_000) + 2 }, () => diff('d1', 60_000));
    for (const d of big) publisher.onDiff(d);
    // Each of these is larger than a turn: one per turn, until the backlog passes the limit.
    expect(publisher.pending).toBeLessThan(big.length);
    expect(published.map((p) => p.seq)).toEqual(big.slice(0, published.length).map((d) => d.seq));
  });

  it('a waiting diff goes to the topics that hear its device when it is published, not when it came', async () => {
    const { subscribers, published, topics, publisher } = paced();
    const shared = topics.sharedFor(['d1', 'd2']);
    subscribers.set(shared.topic, 1);
    for (let i = 0; i < 40; i++) publisher.onDiff(diff('d2'));
    expect(publisher.pending).toBeGreaterThan(0);
    // The socket leaves the shared list for d2's own topic while diffs wait.
    subscribers.delete(shared.topic);
    subscribers.set('d2', 1);
    const before = published.length;
    publisher.flush();
    expect(published.slice(before).every((p) => p.topic === 'd2')).toBe(true);
  });
});
