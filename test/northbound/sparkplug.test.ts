/**
 * Sparkplug B edge node against a real Mosquitto and an independent host (Python, paho-mqtt, a
 * protoc-generated decoder): births before data, seq continuity and wrap, bdSeq of NBIRTH and
 * NDEATH, aliases, values and quality, DDEATH/DBIRTH on device loss, rebirth on NCMD.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { SparkplugHost, type HostEvent } from '../helpers/sparkplug-host.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import type { DeviceDiff } from '../../src/core/registry.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
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

async function host(b: Mosquitto, hostId?: string): Promise<SparkplugHost> {
  const h = await SparkplugHost.start({ port: b.port, group: 'plant', ...(hostId === undefined ? {} : { hostId }) });
  cleanups.push(() => h.stop());
  return h;
}

async function gateway(b: Mosquitto, sparkplug: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<RunningGateway> {
  const stateDir = mkdtempSync(join(tmpdir(), 'mgw-sp-'));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const gw = await startGateway({
    state_dir: stateDir,
    northbound: {
      enabled: true,
      mode: 'sparkplug',
      mqtt: { url: b.url, reconnect_min_ms: 3000, reconnect_max_ms: 3000 },
      sparkplug: { group_id: 'plant', edge_node_id: 'gw1', ...sparkplug },
      ...extra,
    },
  } as Partial<GatewayConfigInput>);
  cleanups.push(() => gw.stop());
  return gw;
}

const byName = (e: HostEvent, name: string) => e.metrics!.find((m) => m.name === name);

describe.skipIf(!peers('mosquitto', 'protoc', '/usr/bin/python3'))('Sparkplug B edge node', () => {
  test('births before data, every point with type, unit, range, writability and quality; seq wraps without a gap; values match the gateway', async () => {
    const b = await broker();
    const h = await host(b);
    const gw = await gateway(b);
    const truth: DeviceDiff[] = [];
    gw.gateway.registry.onDiff((d) => truth.push(d));
    const nbirth = await h.waitFor((e) => e.type === 'NBIRTH', 'NBIRTH');
    expect(nbirth.seq).toBe(0);
    expect(byName(nbirth, 'bdSeq')).toBeDefined();
    expect(byName(nbirth, 'Node Control/Rebirth')!.value).toBe(false);
    for (const id of gw.gateway.registry.ids()) await h.waitFor((e) => e.type === 'DBIRTH' && e.device === id, `DBIRTH ${id}`);
    const dbirth = h.messages('DBIRTH', 'motor_01')[0]!;
    const speed = byName(dbirth, 'speed')!;
    expect(speed.datatype).toBe(3); // integer 0..3000 -> Int32
    expect(speed.properties).toMatchObject({ engUnit: 'rpm', engLow: 0, engHigh: 3000, readOnly: false });
    expect(byName(dbirth, 'running')!.datatype).toBe(11);
    expect(byName(dbirth, 'current')!.datatype).toBe(10);
    expect(byName(dbirth, 'current')!.properties['readOnly']).toBe(true);
    expect(typeof speed.alias).toBe('number');
    // More than 256 messages: seq wraps 255 -> 0 and the host sees no gap.
    await h.waitFor((e) => e.type === 'DDATA' && e.seq === 0, 'seq to wrap', 30_000);
    expect(h.violations()).toEqual([]);
    // Every DDATA value is the gateway's value for that point at that time, with quality good.
    const ddata = h.messages('DDATA');
    expect(ddata.length).toBeGreaterThan(200);
    let checked = 0;
    for (const e of ddata.slice(0, 150)) {
      for (const m of e.metrics!) {
        const d = truth.find((t) => t.device_id === e.device && Math.round(t.timestamp * 1000) === m.timestamp && Object.hasOwn(t.new_state, m.name!));
        if (d === undefined) continue;
        expect(m.value).toEqual(d.new_state[m.name!]);
        expect(m.properties['Quality']).toBe(192);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
    // Changes read before the broker connection was up went out as history, after the births; the rest live.
    expect(ddata.filter((e) => e.metrics!.every((m) => !m.is_historical)).length).toBeGreaterThan(200);
    // A point that does not move (the speed setpoint) equals what REST says.
    const rest = (await (await fetch(`${gw.url}/api/v1/devices/motor_01`)).json()) as { state: Record<string, unknown> };
    expect(speed.value).toEqual(rest.state['speed']);
  });

  test('a stale point goes north as stale (Quality 500) with its last value, never as good', async () => {
    const b = await broker();
    const h = await host(b);
    const gw = await gateway(b);
    await h.waitFor((e) => e.type === 'DBIRTH' && e.device === 'sensor_01', 'births');
    const last = gw.gateway.registry.snapshot('sensor_01')!.state['humidity'];
    const mark = h.events.length;
    // What a driver reports when the read of that point timed out.
    gw.gateway.registry.apply('sensor_01', {}, 'poll', { humidity: 'stale' });
    const e = await h.waitFor((x) => x.type === 'DDATA' && x.device === 'sensor_01' && x.metrics!.some((m) => m.name === 'humidity' && m.properties['Quality'] === 500), 'humidity stale', 5000, mark);
    expect(byName(e, 'humidity')!.value).toEqual(last);
    expect(h.violations()).toEqual([]);
  });

  test('a device lost goes DDEATH, comes back with DBIRTH; NCMD rebirth republishes every birth; a clean stop sends NDEATH with the bdSeq of the birth', async () => {
    const b = await broker();
    const h = await host(b);
    const gw = await gateway(b);
    await h.waitFor((e) => e.type === 'DBIRTH' && e.device === 'sensor_02', 'births');
    const from = h.events.length;
    gw.gateway.registry.setOnline('sensor_02', false);
    await h.waitFor((e) => e.type === 'DDEATH' && e.device === 'sensor_02', 'DDEATH', 5000, from);
    // The simulator answers its next poll: the device is born again with all its points.
    const reborn = await h.waitFor((e) => e.type === 'DBIRTH' && e.device === 'sensor_02', 'DBIRTH again', 5000, from);
    // Every point, and the state of the device's alarms (its offline alarm, on by default).
    expect(reborn.metrics!.map((m) => m.name!).filter((n) => !n.startsWith('Alarms/')).sort()).toEqual(Object.keys(gw.gateway.registry.descriptor('sensor_02')!.points).sort());
    expect(reborn.metrics!.map((m) => m.name!).filter((n) => n.startsWith('Alarms/')).sort()).toEqual(['Alarms/offline/Acked', 'Alarms/offline/Active', 'Alarms/offline/State']);

    const nbirths = h.messages('NBIRTH').length;
    const mark = h.events.length;
    h.send({ cmd: 'rebirth', edge: 'gw1' });
    const again = await h.waitFor((e) => e.type === 'NBIRTH', 'NBIRTH after NCMD', 5000, mark);
    expect(again.seq).toBe(0);
    for (const id of gw.gateway.registry.ids()) await h.waitFor((e) => e.type === 'DBIRTH' && e.device === id, `DBIRTH ${id} after rebirth`, 5000, mark);
    expect(h.messages('NBIRTH').length).toBe(nbirths + 1);

    const bd = byName(again, 'bdSeq')!.value;
    await gw.stop();
    const death = await h.waitFor((e) => e.type === 'NDEATH', 'NDEATH on a clean stop');
    expect(byName(death, 'bdSeq')!.value).toBe(bd);
    expect(h.violations()).toEqual([]);
  });

  test('the gateway killed: the broker sends the NDEATH Will with the bdSeq of the NBIRTH; the next session has the next bdSeq', async () => {
    const b = await broker();
    const h = await host(b);
    const gw = await gateway(b);
    const first = await h.waitFor((e) => e.type === 'NBIRTH', 'NBIRTH');
    // Cut the connection under the gateway (no DISCONNECT): the broker publishes the Will.
    const pub = gw.gateway.consumers().find((c) => c.name === 'mqtt') as unknown as { link: { client: { stream: { destroy: () => void } } } };
    pub.link.client.stream.destroy();
    const death = await h.waitFor((e) => e.type === 'NDEATH', 'NDEATH Will', 10_000);
    expect(byName(death, 'bdSeq')!.value).toBe(byName(first, 'bdSeq')!.value);
    const second = await h.waitFor((e) => e.type === 'NBIRTH' && e !== first, 'NBIRTH of the next session', 15_000);
    expect(byName(second, 'bdSeq')!.value).toBe(((byName(first, 'bdSeq')!.value as number) + 1) % 256);
    expect(h.violations()).toEqual([]);
  });

  test('primary host offline: data is stored; when it is back, births, then everything stored in order as historical, then live', async () => {
    const b = await broker();
    const h = await host(b, 'scada');
    const gw = await gateway(b, { primary_host_id: 'scada' });
    const truth: DeviceDiff[] = [];
    gw.gateway.registry.onDiff((d) => truth.push(d));
    await h.waitFor((e) => e.type === 'NBIRTH', 'NBIRTH once the host is online');
    const nb = () => gw.gateway.consumers().find((c) => c.name === 'mqtt')!.health!();
    h.send({ cmd: 'state', online: false });
    await waitUntil(() => !nb().ok, 'the gateway to hold data');
    const heldFrom = truth.length;
    await waitUntil(() => (nb().counters!['queued'] ?? 0) >= 30, '30 diffs stored');
    const mark = h.events.length;
    h.send({ cmd: 'state', online: true });
    await h.waitFor((e) => e.type === 'NBIRTH', 'births when the host is back', 5000, mark);
    const held = truth.slice(heldFrom, heldFrom + 30).filter((d) => d.action === 'poll');
    const last = held[held.length - 1]!;
    await h.waitFor((e) => e.type === 'DDATA' && e.device === last.device_id && e.metrics!.some((m) => m.is_historical && m.timestamp === Math.round(last.timestamp * 1000)), 'the last held diff', 10_000, mark);
    const after = h.events.slice(mark).filter((e) => e.event === 'message');
    const firstLive = after.findIndex((e) => e.type === 'DDATA' && e.metrics!.every((m) => !m.is_historical));
    for (const d of held) {
      const i = after.findIndex((e) => e.type === 'DDATA' && e.device === d.device_id && e.metrics!.some((m) => m.is_historical && m.timestamp === Math.round(d.timestamp * 1000)));
      expect(i, `${d.device_id} seq ${d.seq}`).toBeGreaterThan(-1);
      if (firstLive >= 0) expect(i).toBeLessThan(firstLive);
    }
    expect(h.violations()).toEqual([]);
  });

  test('a new broker session waits for the primary host STATE again: no births into a restarted broker before the host is back', async () => {
    const b = await broker();
    const first = await SparkplugHost.start({ port: b.port, group: 'plant', hostId: 'scada' });
    cleanups.push(() => first.stop());
    const gw = await gateway(b, { primary_host_id: 'scada' });
    await first.waitFor((e) => e.type === 'NBIRTH', 'NBIRTH once the host is online');
    const nb = () => gw.gateway.consumers().find((c) => c.name === 'mqtt')!.health!();
    const births = nb().counters!['births_total']!;
    // The broker restarts without persistence (the retained STATE is gone) and the host is not back.
    await b.kill();
    await first.stop();
    await waitUntil(() => nb().counters!['link_up'] === 0, 'the gateway to see the broker gone');
    await b.restart();
    await waitUntil(() => nb().counters!['link_up'] === 1, 'the gateway to reconnect', 30_000);
    const held = nb();
    expect(held.ok).toBe(false);
    expect(held.reason).toMatch(/primary host scada is not seen yet/);
    expect(held.counters!['births_total']).toBe(births);
    // The host comes back: the births follow its STATE, and it sees every one of them.
    const h = await host(b, 'scada');
    await h.waitFor((e) => e.type === 'NBIRTH', 'NBIRTH after the host is back');
    await waitUntil(() => nb().ok, 'the gateway live again');
    const devices = gw.gateway.registry.ids().length;
    await waitUntil(() => h.messages('DBIRTH').length >= devices, 'every DBIRTH at the new host');
    expect(h.violations()).toEqual([]);
  }, 60_000);
});

const waitUntil = (cond: () => boolean, what: string, timeoutMs = 15_000) => until(cond, what, timeoutMs);
