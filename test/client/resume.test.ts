/**
 * No update lost: a steady stream from the simulator while connections are cut at random
 * moments; after every resume the client holds exactly the server's state and has applied every
 * seq once. And when the server no longer holds the missed diffs, the client is resynced.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import type { GatewayClient } from '../../src/client/index.js';
import { Recorder, ServerHistory, contiguityProblem, newClient, until, type SocketControl } from './fixtures.js';

const running: { gw?: RunningGateway; client?: GatewayClient; history?: ServerHistory } = {};
afterEach(async () => {
  running.client?.stop();
  running.history?.close();
  await running.gw?.stop();
  running.client = undefined;
  running.history = undefined;
  running.gw = undefined;
});

const FAST_DEVICES = Array.from({ length: 8 }, (_, i) => ({
  id: `${i % 2 === 0 ? 'motor' : 'sensor'}_${String(i + 1).padStart(2, '0')}`,
  driver: 'simulator' as const,
  model: i % 2 === 0 ? ('motor' as const) : ('sensor' as const),
  poll_interval_ms: 10,
}));

/** A deterministic pseudo-random sequence, so a failing run can be repeated (seed in the message). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts the current connection: abruptly from the client side, or from the server side. */
function cut(control: SocketControl, gw: RunningGateway, how: 'terminate' | 'destroy' | 'server'): void {
  const ws = control.sockets.at(-1) as WebSocket;
  if (how === 'terminate') ws.terminate();
  else if (how === 'destroy') (ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
  else {
    const sockets = (gw.gateway.server as unknown as { sockets?: Set<{ close(): void }> }).sockets;
    if (sockets === undefined) throw new Error('Server no longer keeps `sockets`: update this test');
    for (const s of sockets) s.close(); // uWS close(): no close frame, the TCP connection is cut
  }
}

function pct(xs: number[], q: number): string {
  const sorted = [...xs].sort((a, b) => a - b);
  return (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN).toFixed(0);
}

function expectClientEqualsServerHistory(client: GatewayClient, history: ServerHistory, ids: string[]): void {
  for (const id of ids) {
    const d = client.device(id)!;
    const server = history.at(id, d.seq);
    expect(server, `${id}: the server never published seq ${d.seq}`).toBeDefined();
    expect({ id, state: d.state, online: d.online }).toEqual({ id, state: server!.state, online: server!.online });
  }
}

describe('resuming after dropped connections', () => {
  it('applies every one of 10,000 updates exactly once across random drops, and ends equal to the server', async () => {
    const seed = Number(process.env['MGW_CHAOS_SEED'] ?? Date.now() % 100_000);
    const random = rng(seed);
    const gw = (running.gw = await startGateway({ devices: FAST_DEVICES, registry: { replay_size: 100_000 }, log: { level: 'warn' } }));
    const history = (running.history = new ServerHistory(gw.gateway.registry));
    const { client, control } = newClient(gw.url, { random });
    running.client = client;
    const rec = new Recorder(client);
    const ids = FAST_DEVICES.map((d) => d.id);
    client.start();
    await rec.when(() => rec.synced >= 1, 10_000, 'first sync');

    const TARGET = 10_000;
    const ways = ['terminate', 'destroy', 'server'] as const;
    let drops = 0;
    const resumeMs: number[] = []; // drop (or end of a hold) to back in step, for the report only
    while (rec.total < TARGET) {
      // A random moment: after 50..600 more applied updates.
      const at = rec.total + 50 + Math.floor(random() * 550);
      await rec.when(() => rec.total >= at, 20_000, `update ${at} (seed ${seed})`);
      const syncedBefore = rec.synced;
      const hold = drops % 3 === 2;
      if (hold) control.open = false;
      cut(control, gw, ways[drops % ways.length]!);
      drops++;
      if (hold) {
        // Stay away while the server publishes another 50..300 diffs: a longer replay.
        const registry = gw.gateway.registry;
        const sum = () => ids.reduce((n, id) => n + registry.seq(id)!, 0);
        const target = sum() + 50 + Math.floor(random() * 250);
        await until(() => sum() >= target, 10_000, 'the server to move on');
        control.open = true;
      }
      const openedAt = performance.now();
      await rec.when(() => rec.synced > syncedBefore, 10_000, `resume after drop ${drops} (seed ${seed})`);
      resumeMs.push(performance.now() - openedAt);
      // Just resumed: each device is at a seq the server published, with exactly that state.
      expectClientEqualsServerHistory(client, history, ids);
    }

    // Stop the stream and let the client catch up: then it must equal registry.snapshot exactly.
    for (const d of gw.gateway.driverList()) await d.stop();
    const registry = gw.gateway.registry;
    await until(() => ids.every((id) => client.device(id)!.seq === registry.seq(id)), 10_000, 'client to catch up');
    for (const id of ids) {
      const snap = registry.snapshot(id)!;
      const mine = client.device(id)!;
      expect({ id, state: mine.state, online: mine.online, seq: mine.seq, last_update: mine.last_update }).toEqual({
        id,
        state: snap.state,
        online: snap.online,
        seq: snap.seq,
        last_update: snap.last_update,
      });
    }

    // Every seq from the first snapshot on was applied once, in order: no gap, no duplicate.
    expect(rec.resyncs.filter((r) => r.reason !== 'initial'), `seed ${seed}`).toEqual([]);
    for (const id of ids) {
      expect(contiguityProblem(rec.applied.get(id) ?? [], rec.base.get(id)!), `${id} (seed ${seed})`).toBeUndefined();
    }
    // A correct server never makes the client see a gap; the client would heal it, but must not need to.
    expect(client.stats.gaps).toBe(0);
    expect(client.stats.reconnects).toBe(drops);
    expect(client.stats.replayed).toBeGreaterThan(0);
    console.info(
      `chaos seed ${seed}: ${rec.total} updates, ${drops} drops, ${client.stats.replayed} replayed, ${client.stats.duplicates} duplicates dropped; ` +
        `resume ms median ${pct(resumeMs, 0.5)}, p95 ${pct(resumeMs, 0.95)}, max ${pct(resumeMs, 1)}`,
    );
  }, 120_000);

  it.each([
    ['the replay ring overflowed (registry.replay_size)', { registry: { replay_size: 5 } }],
    ['the replay would exceed half the backpressure limit', { registry: { replay_size: 10_000 }, server: { max_backpressure_bytes: 1024 } }],
  ])('resyncs with a snapshot when %s, and is in step again after it', async (_what, config) => {
    const devices = FAST_DEVICES.slice(0, 3);
    const gw = (running.gw = await startGateway({ ...config, devices, log: { level: 'warn' } }));
    const history = (running.history = new ServerHistory(gw.gateway.registry));
    const { client, control } = newClient(gw.url);
    running.client = client;
    const rec = new Recorder(client);
    const ids = devices.map((d) => d.id);
    client.start();
    await rec.when(() => rec.synced >= 1, 10_000, 'first sync');

    // Keep the client away until every device moved well past what the server can replay.
    control.open = false;
    const registry = gw.gateway.registry;
    const left = new Map(ids.map((id) => [id, client.device(id)!.seq]));
    (control.sockets.at(-1) as WebSocket).terminate();
    await until(() => ids.every((id) => registry.seq(id)! > left.get(id)! + 20), 10_000, 'devices to move on');
    const failedAttempts = control.sockets.length;
    await until(() => control.sockets.length > failedAttempts, 10_000, 'a refused reconnect attempt');
    control.open = true;
    await rec.when(() => rec.synced >= 2, 10_000, 'resume');

    const resyncs = rec.resyncs.filter((r) => r.reason !== 'initial');
    expect(resyncs.map((r) => [r.device_id, r.reason, r.snapshot]).sort()).toEqual(ids.map((id) => [id, 'replay_unavailable', true]).sort());
    expectClientEqualsServerHistory(client, history, ids);

    // After the resync the stream is contiguous again from the snapshot's seq.
    const mark = rec.total;
    await rec.when(() => rec.total >= mark + 30, 10_000, 'more updates');
    for (const d of gw.gateway.driverList()) await d.stop();
    await until(() => ids.every((id) => client.device(id)!.seq === registry.seq(id)), 10_000, 'client to catch up');
    for (const id of ids) {
      expect(contiguityProblem(rec.applied.get(id) ?? [], rec.base.get(id)!), id).toBeUndefined();
      expect(client.device(id)!.state).toEqual(registry.snapshot(id)!.state);
    }
  });
});
