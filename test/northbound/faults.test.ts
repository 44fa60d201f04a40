/**
 * Faults: the broker killed while values change, the store filling up, the gateway killed with -9
 * while the broker is down. Real Mosquitto, real gateway (in this process, or the built `mgw
 * serve` where the process itself must die).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Relay } from '../e2e/relay.js';
import { SparkplugHost } from '../helpers/sparkplug-host.js';
import { Recorder } from '../helpers/mqtt-client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import type { Gateway } from '../../src/gateway.js';
import { freePort, runCli, stopChild, type Child } from '../client/processes.js';
import type { DeviceDiff } from '../../src/core/registry.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { storeFiles } from '../../src/northbound/store.js';
import { until } from '../cli/helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function broker(): Promise<Mosquitto> {
  const b = new Mosquitto();
  cleanups.push(() => (b.stop(), b.cleanup()));
  await b.start();
  return b;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mgw-fault-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function gateway(b: Mosquitto, northbound: Record<string, unknown>, url = b.url, beforeStart?: (g: Gateway) => void): Promise<RunningGateway> {
  const gw = await startGateway(
    {
      state_dir: tempDir(),
      northbound: { enabled: true, mqtt: { url, reconnect_min_ms: 3000, reconnect_max_ms: 3000 }, ...northbound },
    } as Partial<GatewayConfigInput>,
    beforeStart,
  );
  cleanups.push(() => gw.stop());
  return gw;
}

const health = (gw: RunningGateway) => gw.gateway.consumers().find((c) => c.name === 'mqtt')!.health!();

const waitUntil = (cond: () => boolean, what: string, timeoutMs = 15_000) => until(cond, what, timeoutMs);

describe.skipIf(!peers('mosquitto', 'protoc', '/usr/bin/python3'))('northbound faults', () => {
  test('Sparkplug: the broker killed while values change; after it is back every change arrives, in order, as historical DDATA', async () => {
    const b = await broker();
    // With the host as primary host, the births after the restart wait for its STATE: it sees them
    // whoever reconnects first. Until then, everything is stored for it, as history.
    const gw = await gateway(b, { mode: 'sparkplug', sparkplug: { group_id: 'plant', edge_node_id: 'gw1', primary_host_id: 'scada' } });
    const truth: DeviceDiff[] = [];
    gw.gateway.registry.onDiff((d) => truth.push(d));
    await waitUntil(() => health(gw).counters!['link_up'] === 1, 'connected');
    await b.kill();
    await waitUntil(() => health(gw).counters!['link_up'] === 0, 'the gateway to see the broker gone');
    const downAt = truth.length;
    await waitUntil(() => (health(gw).counters!['queued'] ?? 0) >= 60, '60 diffs stored');
    // The host is there first and connects as soon as the broker is (as a SCADA would).
    const h = await SparkplugHost.start({ port: b.port, group: 'plant', hostId: 'scada', waitSubscribed: false });
    cleanups.push(() => h.stop());
    await b.restart();
    await h.waitFor((e) => e.event === 'subscribed', 'the host subscribed');
    const stored = truth.slice(downAt, downAt + 60).filter((d) => Object.keys(d.new_state).some((k) => k !== 'online'));
    const last = stored[stored.length - 1]!;
    const ts = (d: DeviceDiff) => Math.round(d.timestamp * 1000);
    await h.waitFor((e) => e.type === 'DDATA' && e.device === last.device_id && e.metrics!.some((m) => m.is_historical && m.timestamp === ts(last)), 'the last stored change', 20_000);
    const hist = h.messages('DDATA').filter((e) => e.metrics!.some((m) => m.is_historical));
    let prev = -1;
    for (const d of stored) {
      const i = hist.findIndex((e) => e.device === d.device_id && e.metrics!.some((m) => m.timestamp === ts(d)));
      expect(i, `${d.device_id} seq ${d.seq}`).toBeGreaterThan(prev);
      const e = hist[i]!;
      for (const [name, value] of Object.entries(d.new_state)) {
        if (name === 'online') continue;
        const m = e.metrics!.find((x) => x.name === name)!;
        expect(m.value).toEqual(value);
        expect(m.is_historical).toBe(true);
      }
      prev = i;
    }
    // The births came first, then the history.
    const firstBirth = h.events.findIndex((e) => e.type === 'NBIRTH');
    const firstHist = h.events.findIndex((e) => e.type === 'DDATA' && e.metrics!.some((m) => m.is_historical));
    expect(firstBirth).toBeGreaterThan(-1);
    expect(firstBirth).toBeLessThan(firstHist);
    expect(h.violations()).toEqual([]);
  });

  test('the store full: the oldest records are dropped whole files at a time, counted and logged; the disk stays under the limit; the newest are forwarded', async () => {
    const b = await broker();
    // Through a relay closed while the broker is away, so the subscriber is back before the gateway.
    const relay = new Relay(b.port);
    const relayPort = await relay.start();
    cleanups.push(() => relay.stop());
    // Every diff from the first: the store holds the ones from before the first connection too.
    const truth: DeviceDiff[] = [];
    const gw = await gateway(b, { mode: 'json', json: { prefix: 'full' }, store: { max_bytes: 65_536, segment_bytes: 8192, fsync_interval_ms: 100 } }, `mqtt://127.0.0.1:${relayPort}`, (g) =>
      g.registry.onDiff((d) => truth.push(d)),
    );
    await waitUntil(() => health(gw).ok, 'connected');
    await b.kill();
    await relay.stop();
    await waitUntil(() => !health(gw).ok, 'the broker gone');
    await waitUntil(() => (health(gw).counters!['dropped_total'] ?? 0) >= 100, 'at least 100 dropped', 30_000);
    const c = health(gw).counters!;
    const dir = join(gw.config.state_dir!, 'northbound');
    const onDisk = storeFiles(dir).reduce((n, f) => n + f.bytes, 0);
    expect(onDisk).toBeLessThanOrEqual(65_536);
    expect(c['queued']! + c['dropped_total']! + c['forwarded_total']!).toBe(c['stored_total']);
    expect(gw.logs.some((l) => l.msg === 'store-and-forward: store full; dropped the oldest records' && typeof l['dropped'] === 'number')).toBe(true);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/mgw_consumer_stat\{consumer="mqtt",name="dropped_total"\} [1-9]/);
    // Back: what is forwarded starts after what was dropped and ends with the newest.
    await b.restart();
    const after = await Recorder.connect(b.url, ['full/+/diff']);
    cleanups.push(() => after.close());
    await relay.start(relayPort);
    const first = await after.waitFor((m) => JSON.parse(m.text)['historical'] === true, 'a historical diff', 20_000);
    const j = JSON.parse(first.text) as { device_id: string; seq: number };
    const index = truth.findIndex((d) => d.device_id === j.device_id && d.seq === j.seq);
    expect(index).toBeGreaterThanOrEqual(c['dropped_total']!);
  });

  test('the gateway killed with -9 while the broker is down: what it stored is forwarded after it restarts', async () => {
    const b = await broker();
    const stateDir = tempDir();
    const port = await freePort();
    const config = join(stateDir, 'gateway.yaml');
    writeFileSync(
      config,
      [
        `server: { host: 127.0.0.1, port: ${port} }`,
        `state_dir: ${stateDir}`,
        'northbound:',
        '  enabled: true',
        '  mode: json',
        `  mqtt: { url: "${b.url}", reconnect_min_ms: 3000, reconnect_max_ms: 3000 }`,
        '  json: { prefix: k9 }',
        '  store: { fsync_interval_ms: 60000 }',
        'devices:',
        '  - { id: m1, driver: simulator, model: motor, poll_interval_ms: 50 }',
        '  - { id: s1, driver: simulator, model: sensor, poll_interval_ms: 50 }',
        '',
      ].join('\n'),
    );
    let child: Child = runCli(['serve', '--config', config]);
    cleanups.push(() => stopChild(child));
    const status = async () => (await (await fetch(`http://127.0.0.1:${port}/api/v1/status`)).json()) as { consumers: { name: string; ok: boolean; counters: Record<string, number> }[] };
    await waitUntilAsync(async () => (await status().catch(() => undefined))?.consumers.find((c) => c.name === 'mqtt')?.ok === true, `the gateway connected (${child.stderr})`);
    // The WebSocket is the record of every change the gateway made.
    const seen: { device_id: string; seq: number; data: { new_state: Record<string, unknown> } }[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/devices`);
    ws.on('message', (raw) => {
      const m = JSON.parse(raw.toString()) as Record<string, any>;
      if (m['type'] === 'device_update') seen.push(m as never);
    });
    await new Promise((r) => ws.once('open', r));
    await b.kill();
    await waitUntilAsync(async () => (await status()).consumers.find((c) => c.name === 'mqtt')!.ok === false, 'the broker gone');
    const downFrom = seen.length;
    await waitUntilAsync(async () => (await status()).consumers.find((c) => c.name === 'mqtt')!.counters['queued']! >= 40, '40 diffs stored');
    // Everything the WebSocket delivered before this last request was stored (in an earlier tick).
    const stored = seen.slice(downFrom);
    await status();
    // fsync_interval_ms is a minute: only the page cache holds the store when the process dies.
    child.proc.kill('SIGKILL');
    await child.exited;
    ws.close();
    expect(readdirSync(join(stateDir, 'northbound')).some((f) => f.startsWith('seg-'))).toBe(true);
    await b.restart();
    const sub = await Recorder.connect(b.url, ['k9/+/diff']);
    cleanups.push(() => sub.close());
    child = runCli(['serve', '--config', config]);
    const last = stored[stored.length - 1]!;
    await sub.waitFor((m) => {
      const j = JSON.parse(m.text) as Record<string, any>;
      return j['historical'] === true && j['device_id'] === last.device_id && j['seq'] === last.seq;
    }, `the last stored diff after the restart (${child.stderr})`, 20_000);
    const got = sub.messages.map((m) => JSON.parse(m.text) as Record<string, any>).filter((j) => j['historical'] === true);
    for (const d of stored) {
      const g = got.find((x) => x['device_id'] === d.device_id && x['seq'] === d.seq);
      expect(g, `${d.device_id} seq ${d.seq}`).toBeDefined();
      expect(g!['data']['new_state']).toEqual(d.data.new_state);
    }
  });
});

async function waitUntilAsync(cond: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
