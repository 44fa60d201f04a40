/**
 * Many gateways, one broker, one host: five `mgw serve` processes with 20 simulated devices each,
 * as Sparkplug edge nodes gw1..gw5. Every device is born once per session, and a broker restart
 * loses nothing: every change made while it was away reaches the host as history.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { SparkplugHost, type HostEvent } from '../helpers/sparkplug-host.js';
import { freePort, runCli, stopChild, type Child } from '../client/processes.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Change {
  device: string;
  t: number;
  state: Record<string, unknown>;
}

async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(cond()).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!peers('mosquitto', 'protoc', '/usr/bin/python3'))('five gateways on one broker', () => {
  test('every device born once per session; a broker restart loses no change', async () => {
    const b = new Mosquitto();
    cleanups.push(() => (b.stop(), b.cleanup()));
    await b.start();
    // The host is the gateways' primary host: after the broker restart they wait for its STATE
    // before their births, so none is sent before the host is there to see it.
    const h = await SparkplugHost.start({ port: b.port, group: 'plant', hostId: 'scada', waitSubscribed: false });
    cleanups.push(() => h.stop());
    await h.waitFor((e) => e.event === 'subscribed', 'host subscribed');
    const gateways: { edge: string; port: number; child: Child; changes: Change[]; ws?: WebSocket }[] = [];
    for (let g = 1; g <= 5; g++) {
      const dir = mkdtempSync(join(tmpdir(), `mgw-fleet-${g}-`));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const port = await freePort();
      const devices = Array.from({ length: 20 }, (_, i) => `  - { id: d${String(i + 1).padStart(2, '0')}, driver: simulator, model: ${i % 2 === 0 ? 'motor' : 'sensor'}, poll_interval_ms: 500 }`);
      writeFileSync(
        join(dir, 'gateway.yaml'),
        [
          `server: { host: 127.0.0.1, port: ${port} }`,
          `state_dir: ${dir}`,
          'log: { level: warn }',
          'northbound:',
          '  enabled: true',
          '  mode: sparkplug',
          `  mqtt: { url: "${b.url}", reconnect_min_ms: 3000, reconnect_max_ms: 3000 }`,
          `  sparkplug: { group_id: plant, edge_node_id: gw${g}, primary_host_id: scada }`,
          'devices:',
          ...devices,
          '',
        ].join('\n'),
      );
      const child = runCli(['serve', '--config', join(dir, 'gateway.yaml')]);
      cleanups.push(() => stopChild(child));
      gateways.push({ edge: `gw${g}`, port, child, changes: [] });
    }
    // Each gateway's own record of its changes: its WebSocket.
    for (const gw of gateways) {
      await waitUntil(async () => (await fetch(`http://127.0.0.1:${gw.port}/healthz`)).ok, `${gw.edge} up (${gw.child.stderr})`);
      const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/ws/devices`);
      ws.on('message', (raw) => {
        const m = JSON.parse(raw.toString()) as { type: string; device_id: string; timestamp: number; data: { new_state: Record<string, unknown> } };
        if (m.type === 'device_update') gw.changes.push({ device: m.device_id, t: Math.round(m.timestamp * 1000), state: m.data.new_state });
      });
      await new Promise((r) => ws.once('open', r));
      gw.ws = ws;
      cleanups.push(() => ws.close());
    }
    const bornAll = (from: number) => gateways.every((gw) => h.events.slice(from).filter((e) => e.type === 'DBIRTH' && e.node === gw.edge).length >= 20);
    await waitUntil(() => bornAll(0), 'all 100 devices born');

    await b.kill();
    const killedAt = Date.now();
    await waitUntil(async () => {
      for (const gw of gateways) {
        const s = (await (await fetch(`http://127.0.0.1:${gw.port}/api/v1/status`)).json()) as { consumers: { name: string; counters: Record<string, number> }[] };
        if ((s.consumers.find((c) => c.name === 'mqtt')!.counters['queued'] ?? 0) < 40) return false;
      }
      return true;
    }, 'each gateway stored 40 changes');
    const restartAt = Date.now();
    const mark = h.events.length;
    await b.restart();
    await waitUntil(() => bornAll(mark), 'all 100 devices born again', 90_000).catch(async (err: Error) => {
      const seen = gateways.map((gw) => {
        const mine = h.events.slice(mark).filter((e) => e.node === gw.edge);
        return `${gw.edge}: ${mine.filter((e) => e.type === 'NBIRTH').length} NBIRTH, ${mine.filter((e) => e.type === 'DBIRTH').length} DBIRTH, ${mine.length} messages`;
      });
      const status = await Promise.all(gateways.map(async (gw) => JSON.stringify((await (await fetch(`http://127.0.0.1:${gw.port}/api/v1/status`)).json() as { consumers: unknown[] }).consumers)));
      throw new Error(`${err.message}; host: ${JSON.stringify(h.events.slice(mark).filter((e) => e.event !== 'message'))}; ${seen.join('; ')}; status: ${status.join(' | ')}`);
    });
    // Every gateway's store drains.
    await waitUntil(async () => {
      for (const gw of gateways) {
        const s = (await (await fetch(`http://127.0.0.1:${gw.port}/api/v1/status`)).json()) as { consumers: { name: string; ok: boolean; counters: Record<string, number> }[] };
        const c = s.consumers.find((c) => c.name === 'mqtt')!;
        if (!c.ok || c.counters['queued'] !== 0) return false;
        expect(c.counters['dropped_total']).toBe(0);
      }
      return true;
    }, 'every store forwarded');

    // Born once per session: between two NBIRTHs of an edge node, one DBIRTH per device.
    for (const gw of gateways) {
      const mine = h.events.filter((e) => e.event === 'message' && e.node === gw.edge);
      const sessions: HostEvent[][] = [];
      for (const e of mine) {
        if (e.type === 'NBIRTH') sessions.push([]);
        else sessions[sessions.length - 1]?.push(e);
      }
      expect(sessions.length, gw.edge).toBe(2);
      for (const s of sessions) {
        const births = s.filter((e) => e.type === 'DBIRTH').map((e) => e.device);
        expect(new Set(births).size, gw.edge).toBe(20);
        expect(births.length, gw.edge).toBe(20);
      }
      // Nothing lost: every change made while the broker was away (after the kill was seen) is history at the host.
      const during = gw.changes.filter((c) => c.t > killedAt + 500 && c.t < restartAt && Object.keys(c.state).some((k) => k !== 'online'));
      expect(during.length, gw.edge).toBeGreaterThan(10);
      const hist = new Set<string>();
      for (const e of mine) if (e.type === 'DDATA') for (const m of e.metrics!) if (m.is_historical) hist.add(`${e.device}@${m.timestamp}@${m.name}`);
      for (const c of during) for (const name of Object.keys(c.state)) if (name !== 'online') expect(hist.has(`${c.device}@${c.t}@${name}`), `${gw.edge} ${c.device} ${name} at ${c.t}`).toBe(true);
    }
    expect(h.violations()).toEqual([]);
  }, 180_000);
});
