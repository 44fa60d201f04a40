/**
 * Northbound JSON mode against a real Mosquitto: retained status and state, every diff in order,
 * and store-and-forward across a broker that is killed and comes back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Relay } from '../e2e/relay.js';
import { Recorder } from '../helpers/mqtt-client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import type { DeviceDiff } from '../../src/core/registry.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { until } from '../cli/helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(northbound: Record<string, unknown> = {}, broker?: Mosquitto, devices?: GatewayConfigInput['devices'], url?: string): Promise<{ broker: Mosquitto; gw: RunningGateway; stateDir: string }> {
  const b = broker ?? new Mosquitto();
  if (broker === undefined) {
    cleanups.push(() => (b.stop(), b.cleanup()));
    await b.start();
  }
  const stateDir = mkdtempSync(join(tmpdir(), 'mgw-nb-'));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const gw = await startGateway({
    state_dir: stateDir,
    northbound: { enabled: true, mode: 'json', json: { prefix: 'plant/line1' }, ...northbound, mqtt: { reconnect_min_ms: 3000, reconnect_max_ms: 3000, ...((northbound['mqtt'] as object | undefined) ?? {}), url: url ?? b.url } },
    ...(devices === undefined ? {} : { devices }),
  } as Partial<GatewayConfigInput>);
  cleanups.push(() => gw.stop());
  return { broker: b, gw, stateDir };
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  await until(cond, what, timeoutMs);
}

const json = (t: string) => JSON.parse(t) as Record<string, any>;

/** A broker the gateway reaches through a relay, which a test closes to cut the connection. */
async function brokerBehindRelay(): Promise<{ broker: Mosquitto; relay: Relay; relayPort: number }> {
  const broker = new Mosquitto();
  cleanups.push(() => (broker.stop(), broker.cleanup()));
  await broker.start();
  const relay = new Relay(broker.port);
  const relayPort = await relay.start();
  cleanups.push(() => relay.stop());
  return { broker, relay, relayPort };
}

/**
 * A gateway with one sensor that changes only when told, `max_inflight` as given, and a
 * subscriber to every diff; resolves once it publishes live. `burst(n)` makes n changes in one
 * tick; `arrived` waits for the last of them at the subscriber.
 */
async function quietSensor(maxInflight: number, broker?: Mosquitto, url?: string) {
  const { broker: b, gw } = await setup({ mqtt: { url: '', max_inflight: maxInflight } }, broker, [{ id: 'sensor_02', driver: 'simulator', model: 'sensor', poll_interval_ms: 60_000 }], url);
  const truth: DeviceDiff[] = [];
  gw.gateway.registry.onDiff((d) => truth.push(d));
  const sub = await Recorder.connect(b.url, ['plant/line1/+/diff']);
  cleanups.push(() => sub.close());
  const nb = () => gw.gateway.consumers().find((c) => c.name === 'mqtt')!.health!();
  await waitFor(() => nb().ok && nb().counters!['queued'] === 0, 'live');
  const burst = (n: number): DeviceDiff[] => {
    const from = truth.length;
    for (let i = 0; i < n; i++) gw.gateway.registry.apply('sensor_02', { temperature: 20 + i / 10 }, 'poll');
    return truth.slice(from);
  };
  const arrived = async (sent: DeviceDiff[], timeoutMs?: number) => {
    const last = sent[sent.length - 1]!;
    await sub.waitFor((m) => {
      const j = json(m.text);
      return j['device_id'] === last.device_id && j['seq'] === last.seq;
    }, 'the last change of the burst', timeoutMs);
  };
  return { gw, sub, nb, burst, arrived };
}

describe.skipIf(!peers('mosquitto'))('northbound JSON mode', () => {
  test('publishes retained status and state, and every diff of every device in seq order', async () => {
    const { broker, gw } = await setup();
    const sub = await Recorder.connect(broker.url, ['plant/line1/#']);
    cleanups.push(() => sub.close());
    await sub.waitFor((m) => m.topic === 'plant/line1/status' && m.text === 'online', 'status online');
    for (const id of gw.gateway.registry.ids()) {
      const state = await sub.waitFor((m) => m.topic === `plant/line1/${id}/state`, `state of ${id} (retained, or live if this subscriber was first)`);
      const body = json(state.text);
      expect(body['device_id']).toBe(id);
      expect(body).toHaveProperty('quality');
      expect(body).toHaveProperty('online');
    }
    // 20 diffs of motor_01 in a row, nothing skipped.
    const first = json((await sub.waitFor((m) => m.topic === 'plant/line1/motor_01/diff', 'a diff')).text);
    const start = first['seq'] as number;
    await sub.waitFor((m) => m.topic === 'plant/line1/motor_01/diff' && json(m.text)['seq'] >= start + 20, '20 more diffs');
    const seqs = sub.messages.filter((m) => m.topic === 'plant/line1/motor_01/diff').map((m) => json(m.text)['seq'] as number);
    const run = seqs.slice(seqs.indexOf(start));
    expect(run).toEqual(run.map((_, i) => start + i));
    const d = json(sub.messages.find((m) => m.topic === 'plant/line1/motor_01/diff')!.text);
    expect(d['type']).toBe('device_update');
    expect(d['data']['device_id']).toBe('motor_01');
    // The retained state equals what the REST API says.
    const rest = (await (await fetch(`${gw.url}/api/v1/devices/sensor_01`)).json()) as Record<string, any>;
    const late = await Recorder.connect(broker.url, ['plant/line1/sensor_01/state']);
    cleanups.push(() => late.close());
    const retained = json((await late.waitFor((m) => m.retain, 'retained state')).text);
    expect(retained['device_id']).toBe(rest['device_id']);
    expect(Object.keys(retained['state']).sort()).toEqual(Object.keys(rest['state']).sort());
  });

  test('more changes than the broker confirms in time wait in the store and follow in order, as live data', async () => {
    // One slow device: with one message in flight, four devices changing every 50 ms on a busy
    // machine keep the store from ever being empty at the moment the test looks.
    const { sub, nb, burst, arrived } = await quietSensor(1);
    // A burst in one tick, as a driver reporting a whole line at once: one goes out, the rest wait.
    const sent = burst(100);
    expect(nb().counters!['overflow_total']).toBeGreaterThanOrEqual(99);
    await arrived(sent);
    const got = sub.messages.map((m) => json(m.text));
    let prev = -1;
    expect(sent.length).toBe(100);
    for (const d of sent) {
      const i = got.findIndex((g) => g['device_id'] === d.device_id && g['seq'] === d.seq);
      expect(i, `${d.device_id} seq ${d.seq}`).toBeGreaterThan(prev);
      expect(got[i]!['historical']).toBeUndefined();
      prev = i;
    }
  });

  test('the connection lost while changes wait for confirmation and more overflowed: all arrive afterwards, in order', async () => {
    const { broker, relay, relayPort } = await brokerBehindRelay();
    const { sub, nb, burst, arrived } = await quietSensor(5, broker, `mqtt://127.0.0.1:${relayPort}`);
    // A burst: five go live and wait for their PUBACKs, the rest overflow into the store; the
    // connection goes before any PUBACK can come back.
    const sent = burst(50);
    expect(nb().counters!['overflow_total']).toBeGreaterThanOrEqual(45);
    await relay.stop();
    await until(() => !nb().ok, 'the gateway to see the connection gone', 10_000);
    expect(nb().counters!['queued']).toBe(50);
    await relay.start(relayPort);
    await arrived(sent, 20_000);
    // Each change of the burst, in order (a change that reached the broker before the connection
    // went may arrive twice: at least once).
    const seqs = sub.messages.map((m) => json(m.text)).filter((j) => j['device_id'] === 'sensor_02' && j['seq'] >= sent[0]!.seq).map((j) => j['seq'] as number);
    const firsts = seqs.filter((q, k) => seqs.indexOf(q) === k);
    expect(firsts).toEqual(sent.map((d) => d.seq));
  });

  test('broker killed and restarted: every change made meanwhile arrives afterwards, in order, marked historical', async () => {
    // The gateway reaches the broker through a relay, closed while the broker is away: its
    // reconnect waits until the subscriber is back, which then misses nothing.
    const { broker, relay, relayPort } = await brokerBehindRelay();
    const { gw } = await setup({}, broker, undefined, `mqtt://127.0.0.1:${relayPort}`);
    const truth: DeviceDiff[] = [];
    gw.gateway.registry.onDiff((d) => truth.push(d));
    let sub = await Recorder.connect(broker.url, ['plant/line1/+/diff']);
    await sub.waitFor((m) => m.topic.endsWith('/diff'), 'live diffs');
    await sub.close();
    const nb = () => gw.gateway.consumers().find((c) => c.name === 'mqtt')!.health!();
    await broker.kill();
    await relay.stop();
    await until(() => !nb().ok, 'the gateway to see the broker gone', 10_000);
    const downAt = truth.length;
    await until(() => (nb().counters!['queued'] ?? 0) >= 40, '40 diffs stored', 15_000);
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as Record<string, any>)['consumers_down'][0]['name']).toBe('mqtt');
    await broker.restart();
    sub = await Recorder.connect(broker.url, ['plant/line1/+/diff']);
    cleanups.push(() => sub.close());
    await relay.start(relayPort);
    const stored = truth.slice(downAt, downAt + 40);
    const last = stored[stored.length - 1]!;
    await sub.waitFor((m) => {
      const j = json(m.text);
      return j['device_id'] === last.device_id && j['seq'] === last.seq;
    }, 'the last stored diff', 20_000);
    const got = sub.messages.map((m) => json(m.text));
    for (const d of stored) {
      const match = got.find((g) => g['device_id'] === d.device_id && g['seq'] === d.seq);
      expect(match, `${d.device_id} seq ${d.seq}`).toBeDefined();
      expect(match!['historical']).toBe(true);
      expect(match!['data']['new_state']).toEqual(d.new_state);
    }
    // In order per device.
    for (const id of gw.gateway.registry.ids()) {
      const seqs = got.filter((g) => g['device_id'] === id).map((g) => g['seq'] as number);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    await until(() => nb().ok && nb().counters!['queued'] === 0, 'store drained', 10_000);
    expect(nb().counters!['dropped_total']).toBe(0);
  });
});
