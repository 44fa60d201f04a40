/**
 * Alarms northbound against a real Mosquitto: a limit crossed on the simulator (the speed
 * setpoint written through the REST API) goes out as a JSON transition message with the alarm's
 * retained state, and as DDATA of the alarm's metrics to an independent Sparkplug host; an
 * acknowledgement from the REST API follows the same way; transitions made while the broker is
 * away wait in the store in order with the diffs and arrive afterwards, marked historical.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Recorder, type Received } from '../helpers/mqtt-client.js';
import { SparkplugHost, type HostEvent } from '../helpers/sparkplug-host.js';
import { postJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import type { DeviceDiff } from '../../src/core/registry.js';
import type { AlarmEvent } from '../../src/protocol/alarms.js';
import { until } from '../cli/helpers.js';
import { Relay } from '../e2e/relay.js';
import { hashToken } from '../../src/server/auth.js';
import { readFileSync } from 'node:fs';

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

const DEVICES: GatewayConfigInput['devices'] = [
  { id: 'motor_01', driver: 'simulator', model: 'motor', poll_interval_ms: 100, alarms: { points: { speed: { hi: 2500, hihi: { limit: 2900, priority: 'critical', message: 'Conveyor at its mechanical limit' } } } } },
  { id: 'sensor_01', driver: 'simulator', model: 'sensor', poll_interval_ms: 200 },
];

async function gateway(northbound: Record<string, unknown>): Promise<RunningGateway> {
  const stateDir = mkdtempSync(join(tmpdir(), 'mgw-nb-alarms-'));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const gw = await startGateway({ state_dir: stateDir, devices: DEVICES, northbound: { enabled: true, ...northbound } } as Partial<GatewayConfigInput>);
  cleanups.push(() => gw.stop());
  await until(() => gw.gateway.registry.list().every((d) => d.online), 'devices online', 20_000);
  return gw;
}

const OPERATOR = 'mgw_operator-token-for-the-alarm-acks-0123456789abcdef';
const VIEWER = 'mgw_viewer-token-for-the-alarm-acks-0123456789abcdefgh';

/** A gateway that takes commands from the broker, with an operator and a viewer token, and its state dir. */
async function commandsGateway(northbound: Record<string, unknown>): Promise<{ gw: RunningGateway; stateDir: string }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'mgw-nb-alarm-ack-'));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const gw = await startGateway({
    state_dir: stateDir,
    devices: DEVICES,
    auth: { tokens: [{ name: 'scada_op', role: 'operator', hash: hashToken(OPERATOR) }, { name: 'dashboard', role: 'viewer', hash: hashToken(VIEWER) }] },
    northbound: { enabled: true, commands: { enabled: true, identity: 'plant-broker' }, ...northbound },
  } as Partial<GatewayConfigInput>);
  cleanups.push(() => gw.stop());
  return { gw, stateDir };
}

async function raiseAsOperator(gw: RunningGateway): Promise<void> {
  const headers = { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' };
  expect((await fetch(`${gw.url}/api/v1/devices/motor_01`, { method: 'POST', headers, body: JSON.stringify({ speed: 3000 }) })).status).toBe(200);
}

async function alarmAudit(gw: RunningGateway, stateDir: string): Promise<Record<string, any>[]> {
  await gw.gateway.audit.flush();
  return readFileSync(join(stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>).filter((r) => r['action'] === 'alarm');
}

const mqttCounters = (gw: RunningGateway) => gw.gateway.consumers().find((c) => c.name === 'mqtt')!.health!().counters!;

async function setSpeed(gw: RunningGateway, speed: number): Promise<void> {
  const res = await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed });
  expect(res.status).toBe(200);
}

async function ack(gw: RunningGateway, id: string): Promise<void> {
  const res = await postJson(`${gw.url}/api/v1/alarms/${id}/ack`, { comment: 'seen' });
  expect(res.status).toBe(200);
}

const json = (t: string) => JSON.parse(t) as Record<string, any>;
const HI = 'plant/line1/motor_01/alarm/motor_01.speed.hi';

describe.skipIf(!peers('mosquitto'))('alarms northbound, JSON mode', () => {
  test('a limit crossed: one message per transition and the retained state; an ack from the REST API follows', async () => {
    const b = await broker();
    const gw = await gateway({ mode: 'json', json: { prefix: 'plant/line1' }, mqtt: { url: b.url } });
    const sub = await Recorder.connect(b.url, ['plant/line1/+/alarm/#']);
    cleanups.push(() => sub.close());
    // Every configured alarm has a retained state from the births, normal ones too.
    const born = json((await sub.waitFor((m) => m.topic === `${HI}/state`, 'the state of motor_01.speed.hi (retained, or live if this subscriber was first)')).text);
    expect(born).toMatchObject({ id: 'motor_01.speed.hi', state: 'normal', priority: 'medium', limit: 2500, unit: 'rpm' });
    await sub.waitFor((m) => m.topic === 'plant/line1/motor_01/alarm/motor_01.speed.hihi/state', 'the state of the hihi alarm');

    await setSpeed(gw, 3000);
    const raise = json((await sub.waitFor((m) => m.topic === HI && json(m.text)['transition'] === 'raise', 'the raise of motor_01.speed.hi')).text);
    expect(raise).toMatchObject({ alarm_id: 'motor_01.speed.hi', device_id: 'motor_01', point: 'speed', kind: 'hi', priority: 'medium', from: 'normal', to: 'active_unack', active: true, acked: false, value: 3000, limit: 2500, unit: 'rpm', by: null });
    expect(raise['historical']).toBeUndefined();
    const hihi = json((await sub.waitFor((m) => m.topic === 'plant/line1/motor_01/alarm/motor_01.speed.hihi' && json(m.text)['transition'] === 'raise', 'the raise of the hihi alarm')).text);
    expect(hihi).toMatchObject({ priority: 'critical', message: 'Conveyor at its mechanical limit', to: 'active_unack' });
    const state = await sub.waitFor((m) => m.topic === `${HI}/state` && json(m.text)['state'] === 'active_unack', 'the state active_unack');
    expect(json(state.text)).toMatchObject({ active: true, acked: false, value: 3000 });
    // The gateway's seq of the raise is the one of the REST API's journal.
    const events = (await (await fetch(`${gw.url}/api/v1/alarms/events?alarm=motor_01.speed.hi`)).json()) as { events: AlarmEvent[] };
    expect(events.events.find((e) => e.transition === 'raise')!.seq).toBe(raise['seq']);

    await ack(gw, 'motor_01.speed.hi');
    const acked = json((await sub.waitFor((m) => m.topic === HI && json(m.text)['transition'] === 'ack', 'the ack')).text);
    expect(acked).toMatchObject({ from: 'active_unack', to: 'active_ack', acked: true, active: true, comment: 'seen', by: { token: 'anonymous', remote: '127.0.0.1' } });
    expect(acked['seq']).toBeGreaterThan(raise['seq']);
    await sub.waitFor((m) => m.topic === `${HI}/state` && json(m.text)['state'] === 'active_ack', 'the state active_ack');

    // A late subscriber finds the current state retained.
    const late = await Recorder.connect(b.url, [`${HI}/state`]);
    cleanups.push(() => late.close());
    const retained = await late.waitFor((m) => m.retain, 'the retained state');
    expect(json(retained.text)).toMatchObject({ state: 'active_ack', comment: 'seen' });
  });

  test('transitions made while the broker is away wait in the store, in order with the diffs, and arrive marked historical', async () => {
    const b = await broker();
    // The gateway reaches the broker through a relay the test cuts (a network failure), so the
    // subscriber stays connected throughout and sees everything in the order the broker got it.
    const relay = new Relay(b.port);
    const relayPort = await relay.start();
    cleanups.push(() => relay.stop());
    const sub = await Recorder.connect(b.url, ['plant/line1/motor_01/diff', 'plant/line1/motor_01/alarm/#']);
    cleanups.push(() => sub.close());
    const gw = await gateway({ mode: 'json', json: { prefix: 'plant/line1' }, mqtt: { url: `mqtt://127.0.0.1:${relayPort}`, reconnect_min_ms: 500, reconnect_max_ms: 1000 } });
    const truth: ({ diff: DeviceDiff } | { alarm: AlarmEvent })[] = [];
    gw.gateway.registry.onDiff((d) => truth.push({ diff: d }));
    gw.gateway.alarms.table.onEvent((e) => truth.push({ alarm: e }));
    await sub.waitFor((m) => m.topic === `${HI}/state`, 'the births');
    const nb = () => gw.gateway.consumers().find((c) => c.name === 'mqtt')!.health!();

    await relay.stop();
    await until(() => !nb().ok, 'the gateway to see the broker gone', 15_000);
    const downAt = truth.length;
    await setSpeed(gw, 3000);
    await until(() => gw.gateway.alarms.table.view('motor_01.speed.hi')!.state === 'active_unack', 'the alarm raised');
    await ack(gw, 'motor_01.speed.hi');
    await setSpeed(gw, 1000);
    await until(() => gw.gateway.alarms.table.view('motor_01.speed.hihi')!.state === 'rtn_unack', 'the hihi alarm returned to normal');
    // The motor ramps down: the hi limit is crossed a poll or more after the hihi one.
    await until(() => gw.gateway.alarms.table.view('motor_01.speed.hi')!.state === 'normal', 'the hi alarm cleared (it was acknowledged)');
    const stored = truth.slice(downAt).filter((t) => 'alarm' in t).map((t) => (t as { alarm: AlarmEvent }).alarm);
    expect(stored.map((e) => `${e.alarm_id} ${e.transition}`).sort()).toEqual(['motor_01.speed.hi ack', 'motor_01.speed.hi clear', 'motor_01.speed.hi raise', 'motor_01.speed.hihi clear', 'motor_01.speed.hihi raise']);
    expect(nb().counters!['queued']).toBeGreaterThanOrEqual(truth.length - downAt);

    // What was made before the link is back is stored for certain; what follows may go live.
    const upAt = truth.length;
    await relay.start(relayPort);
    await until(() => nb().ok && nb().counters!['queued'] === 0, 'the store drained', 30_000);
    const expected = truth
      .slice(downAt, upAt)
      .filter((t) => !('diff' in t) || t.diff.device_id === 'motor_01')
      .map((t) => ('diff' in t ? `diff ${t.diff.seq}` : `alarm ${t.alarm.seq}`));
    const key = (m: Received): string | undefined => {
      if (m.topic.endsWith('/state')) return undefined;
      return `${m.topic.endsWith('/diff') ? 'diff' : 'alarm'} ${json(m.text)['seq']}`;
    };
    const got = () => sub.messages.map(key).filter((k): k is string => k !== undefined);
    await until(() => got().includes(expected[expected.length - 1]!), 'the last record made while the broker was away', 20_000);

    // Alarm transitions and motor_01's diffs arrive interleaved as they were made.
    const positions = expected.map((k) => got().indexOf(k));
    expect(positions.every((p) => p >= 0), `every stored record arrived: ${expected.filter((_, i) => positions[i]! < 0).join(', ')}`).toBe(true);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    for (const e of stored) {
      const m = sub.messages.find((r) => !r.topic.endsWith('/state') && r.topic.includes('/alarm/') && json(r.text)['seq'] === e.seq)!;
      expect(json(m.text)).toMatchObject({ historical: true, alarm_id: e.alarm_id, transition: e.transition, to: e.to });
    }
    // The births of the new session state each alarm as it is now, and again after the history;
    // the history itself changes no retained state.
    const lastRecord = sub.messages.findIndex((m) => key(m) === expected[expected.length - 1]);
    await until(() => sub.messages.findLastIndex((m) => m.topic === `${HI}/state`) > lastRecord, 'the state of motor_01.speed.hi after the history', 15_000);
    expect(json(sub.messages.findLast((m) => m.topic === `${HI}/state`)!.text)['state']).toBe('normal');
    expect(json(sub.messages.findLast((m) => m.topic === 'plant/line1/motor_01/alarm/motor_01.speed.hihi/state')!.text)['state']).toBe('rtn_unack');
    expect(sub.messages.some((m) => m.topic === `${HI}/state` && json(m.text)['state'] === 'active_unack')).toBe(false);
  });

  test('an ack published to <prefix>/<device>/alarm/<alarm>/ack: as the REST ack, with the MQTT identity and the comment; a viewer and a bad payload are refused', async () => {
    const b = await broker();
    const { gw, stateDir } = await commandsGateway({ mode: 'json', json: { prefix: 'plant/line1' }, mqtt: { url: b.url } });
    const sub = await Recorder.connect(b.url, ['plant/line1/motor_01/alarm/#'], { protocolVersion: 5 });
    cleanups.push(() => sub.close());
    await until(() => mqttCounters(gw)['link_up'] === 1 && gw.gateway.registry.snapshot('motor_01')!.online, 'the gateway connected, the motor online', 15_000);
    await raiseAsOperator(gw);
    await sub.waitFor((m) => m.topic === HI && json(m.text)['transition'] === 'raise', 'the raise');
    const publish = (payload: string, token: string) => sub.client.publishAsync(`${HI}/ack`, payload, { qos: 1, properties: { userProperties: { token } } });

    await publish('', VIEWER);
    await publish('[1]', OPERATOR);
    await publish('{"comment": 5}', OPERATOR);
    await until(() => (mqttCounters(gw)['commands_refused_total'] ?? 0) >= 3, 'three refusals', 15_000);
    expect(mqttCounters(gw)['commands_malformed_total']).toBe(2);
    expect(gw.gateway.alarms.table.view('motor_01.speed.hi')!.state).toBe('active_unack');

    await publish('{"comment": "seen from the line PC"}', OPERATOR);
    const acked = json((await sub.waitFor((m) => m.topic === HI && json(m.text)['transition'] === 'ack', 'the ack')).text);
    expect(acked).toMatchObject({ to: 'active_ack', comment: 'seen from the line PC', by: { token: 'mqtt:scada_op', remote: 'mqtt ack motor_01/motor_01.speed.hi' } });
    expect(await alarmAudit(gw, stateDir)).toEqual([
      expect.objectContaining({ token: 'mqtt:dashboard', requested: { alarm_action: 'ack' }, outcome: 'error', error_code: 'forbidden' }),
      expect.objectContaining({ token: 'mqtt:scada_op', requested: { alarm_action: 'ack', comment: 'seen from the line PC' }, outcome: 'ok' }),
    ]);
  });

  test('a broker ACL older than the ack topic refuses its subscription: the gateway runs and publishes all the same, and says why acks are off', async () => {
    const b = new Mosquitto({ refuseSubscriptions: ['acl/+/alarm/+/ack'] });
    cleanups.push(() => (b.stop(), b.cleanup()));
    await b.start();
    const sub = await Recorder.connect(b.url, ['acl/motor_01/state']);
    cleanups.push(() => sub.close());
    const { gw } = await commandsGateway({ mode: 'json', json: { prefix: 'acl' }, mqtt: { url: b.url } });
    await until(() => mqttCounters(gw)['link_up'] === 1, 'the gateway connected', 15_000);
    await sub.waitFor((m) => m.topic === 'acl/motor_01/state', 'the state of motor_01');
    expect(gw.gateway.consumers().find((c) => c.name === 'mqtt')!.health!().ok).toBe(true);
    expect(mqttCounters(gw)['connects_total']).toBe(1);
    expect(gw.logs.some((l) => l.msg === 'broker refused an optional subscription; that feature is off until it allows it' && l['topic'] === 'acl/+/alarm/+/ack')).toBe(true);
  });
});

const metric = (e: HostEvent, name: string) => e.metrics!.find((m) => m.name === name);

describe.skipIf(!peers('mosquitto', 'protoc', '/usr/bin/python3'))('alarms northbound, Sparkplug B', () => {
  test('alarm metrics in the DBIRTH with priority; a raise and a REST ack as DDATA of the device, by alias', async () => {
    const b = await broker();
    const host = await SparkplugHost.start({ port: b.port, group: 'plant' });
    cleanups.push(() => host.stop());
    const gw = await gateway({ mode: 'sparkplug', mqtt: { url: b.url }, sparkplug: { group_id: 'plant', edge_node_id: 'gw1' } });
    const birth = await host.waitFor((e) => e.event === 'message' && e.type === 'DBIRTH' && e.device === 'motor_01', 'the DBIRTH of motor_01');
    const state = metric(birth, 'Alarms/speed/hi/State')!;
    expect(state).toMatchObject({ value: 'normal', datatype: 12 });
    expect(state.properties).toMatchObject({ Priority: 'medium' });
    expect(metric(birth, 'Alarms/speed/hihi/State')!.properties).toMatchObject({ Priority: 'critical', Documentation: 'Conveyor at its mechanical limit' });
    expect(metric(birth, 'Alarms/speed/hi/Active')).toMatchObject({ value: false, datatype: 11 });
    expect(metric(birth, 'Alarms/speed/hi/Acked')).toMatchObject({ value: true, datatype: 11 });
    expect(metric(birth, 'Alarms/offline/State')).toMatchObject({ value: 'normal' });

    const from = host.events.length;
    await setSpeed(gw, 3000);
    const raised = await host.waitFor((e) => e.type === 'DDATA' && e.device === 'motor_01' && metric(e, 'Alarms/speed/hi/State')?.value === 'active_unack', 'the raise as DDATA', 15_000, from);
    expect(metric(raised, 'Alarms/speed/hi/Active')!.value).toBe(true);
    expect(metric(raised, 'Alarms/speed/hi/Acked')!.value).toBe(false);
    const event = gw.gateway.alarms.table.since(0)!.find((e) => e.alarm_id === 'motor_01.speed.hi' && e.transition === 'raise')!;
    expect(metric(raised, 'Alarms/speed/hi/State')!.timestamp).toBe(Math.round(event.time * 1000));
    expect(metric(raised, 'Alarms/speed/hi/State')!.is_historical).toBe(false);

    await ack(gw, 'motor_01.speed.hi');
    const acked = await host.waitFor((e) => e.type === 'DDATA' && e.device === 'motor_01' && metric(e, 'Alarms/speed/hi/Acked')?.value === true, 'the ack as DDATA', 15_000, host.events.indexOf(raised) + 1);
    expect(metric(acked, 'Alarms/speed/hi/State')!.value).toBe('active_ack');
    expect(host.violations()).toEqual([]);

    // A rebirth carries the current alarm state.
    const before = host.events.length;
    host.send({ cmd: 'rebirth', edge: 'gw1' });
    const reborn = await host.waitFor((e) => e.type === 'DBIRTH' && e.device === 'motor_01', 'the DBIRTH after the rebirth', 15_000, before);
    expect(metric(reborn, 'Alarms/speed/hi/State')!.value).toBe('active_ack');
    expect(metric(reborn, 'Alarms/speed/hihi/State')!.value).toBe('active_unack');
    expect(host.violations()).toEqual([]);
  });
  test('primary host offline: a raise and an ack are stored and arrive after the births as historical DDATA, in order', async () => {
    const b = await broker();
    const host = await SparkplugHost.start({ port: b.port, group: 'plant', hostId: 'scada' });
    cleanups.push(() => host.stop());
    const gw = await gateway({ mode: 'sparkplug', mqtt: { url: b.url }, sparkplug: { group_id: 'plant', edge_node_id: 'gw1', primary_host_id: 'scada' } });
    await host.waitFor((e) => e.type === 'DBIRTH' && e.device === 'motor_01', 'the births once the host is online');
    const nb = () => gw.gateway.consumers().find((c) => c.name === 'mqtt')!.health!();
    host.send({ cmd: 'state', online: false });
    await until(() => !nb().ok, 'the gateway to hold data', 15_000);
    await setSpeed(gw, 2600);
    await until(() => gw.gateway.alarms.table.view('motor_01.speed.hi')!.state === 'active_unack', 'the raise');
    await ack(gw, 'motor_01.speed.hi');
    const events = gw.gateway.alarms.table.since(0)!.filter((e) => e.alarm_id === 'motor_01.speed.hi');
    expect(events.map((e) => e.transition)).toEqual(['raise', 'ack']);

    const mark = host.events.length;
    host.send({ cmd: 'state', online: true });
    const birth = await host.waitFor((e) => e.type === 'DBIRTH' && e.device === 'motor_01', 'the births when the host is back', 15_000, mark);
    // The births say how it is now; the history then says how it got there.
    expect(metric(birth, 'Alarms/speed/hi/State')!.value).toBe('active_ack');
    const at = (ts: number) => (e: HostEvent) => e.type === 'DDATA' && e.device === 'motor_01' && metric(e, 'Alarms/speed/hi/State')?.timestamp === Math.round(ts * 1000);
    const raised = await host.waitFor(at(events[0]!.time), 'the stored raise', 15_000, mark);
    const acked = await host.waitFor(at(events[1]!.time), 'the stored ack', 15_000, mark);
    expect(metric(raised, 'Alarms/speed/hi/State')).toMatchObject({ value: 'active_unack', is_historical: true });
    expect(metric(acked, 'Alarms/speed/hi/State')).toMatchObject({ value: 'active_ack', is_historical: true });
    expect(metric(acked, 'Alarms/speed/hi/Acked')).toMatchObject({ value: true, is_historical: true });
    expect(host.events.indexOf(birth)).toBeLessThan(host.events.indexOf(raised));
    expect(host.events.indexOf(raised)).toBeLessThan(host.events.indexOf(acked));
    expect(host.violations()).toEqual([]);
  });
  test('the offline alarm: no DDATA for a dead device; its DBIRTH on return carries the alarm, unacknowledged', async () => {
    const b = await broker();
    const host = await SparkplugHost.start({ port: b.port, group: 'plant' });
    cleanups.push(() => host.stop());
    const gw = await gateway({ mode: 'sparkplug', mqtt: { url: b.url }, sparkplug: { group_id: 'plant', edge_node_id: 'gw1' } });
    await host.waitFor((e) => e.type === 'DBIRTH' && e.device === 'sensor_01', 'the births');
    const mark = host.events.length;
    gw.gateway.registry.setOnline('sensor_01', false);
    await host.waitFor((e) => e.type === 'DDEATH' && e.device === 'sensor_01', 'the DDEATH', 15_000, mark);
    // The simulator answers its next poll: born again, with the offline alarm returned to normal, unacknowledged.
    const reborn = await host.waitFor((e) => e.type === 'DBIRTH' && e.device === 'sensor_01', 'the DBIRTH on return', 15_000, mark);
    expect(gw.gateway.alarms.table.since(0)!.filter((e) => e.alarm_id === 'sensor_01.offline').map((e) => e.transition)).toEqual(['raise', 'clear']);
    expect(metric(reborn, 'Alarms/offline/State')).toMatchObject({ value: 'rtn_unack' });
    expect(metric(reborn, 'Alarms/offline/State')!.properties).toMatchObject({ Priority: 'high' });
    // Nothing was sent for the device between its death and its birth.
    const between = host.events.slice(host.events.findIndex((e, i) => i >= mark && e.type === 'DDEATH'), host.events.indexOf(reborn));
    expect(between.filter((e) => e.device === 'sensor_01' && e.type === 'DDATA')).toEqual([]);
    await ack(gw, 'sensor_01.offline');
    const acked = await host.waitFor((e) => e.type === 'DDATA' && e.device === 'sensor_01' && metric(e, 'Alarms/offline/State')?.value === 'normal', 'the ack as DDATA', 15_000, host.events.indexOf(reborn));
    expect(metric(acked, 'Alarms/offline/Acked')!.value).toBe(true);
    expect(host.violations()).toEqual([]);
  });
  test('a host acknowledges by writing Acked = true (DCMD): as the REST ack, with the MQTT identity, audited; a viewer or any other alarm metric is refused', async () => {
    const b = await broker();
    const host = await SparkplugHost.start({ port: b.port, group: 'plant' });
    cleanups.push(() => host.stop());
    const { gw, stateDir } = await commandsGateway({ mode: 'sparkplug', mqtt: { url: b.url }, sparkplug: { group_id: 'plant', edge_node_id: 'gw1' } });
    const birth = await host.waitFor((e) => e.type === 'DBIRTH' && e.device === 'motor_01', 'the DBIRTH of motor_01');
    expect(metric(birth, 'Alarms/speed/hi/Acked')!.properties).toMatchObject({ readOnly: false });
    expect(metric(birth, 'Alarms/speed/hi/State')!.properties).toMatchObject({ readOnly: true });
    const ackedAlias = metric(birth, 'Alarms/speed/hi/Acked')!.alias!;
    const from = host.events.length;
    await raiseAsOperator(gw);
    await host.waitFor((e) => e.type === 'DDATA' && e.device === 'motor_01' && metric(e, 'Alarms/speed/hi/State')?.value === 'active_unack', 'the raise as DDATA', 15_000, from);
    const counters = () => mqttCounters(gw);

    // Refused: a viewer; Acked = false; the State metric. Nothing changes.
    host.send({ cmd: 'dcmd', edge: 'gw1', device: 'motor_01', token: VIEWER, metrics: [{ alias: ackedAlias, datatype: 11, value: true }] });
    host.send({ cmd: 'dcmd', edge: 'gw1', device: 'motor_01', token: OPERATOR, metrics: [{ name: 'Alarms/speed/hi/Acked', datatype: 11, value: false }] });
    host.send({ cmd: 'dcmd', edge: 'gw1', device: 'motor_01', token: OPERATOR, metrics: [{ name: 'Alarms/speed/hi/State', datatype: 12, value: 'normal' }] });
    await until(() => (counters()['commands_refused_total'] ?? 0) >= 3, 'three refusals', 15_000);
    expect(counters()['commands_malformed_total']).toBe(2);
    expect(gw.gateway.alarms.table.view('motor_01.speed.hi')!.state).toBe('active_unack');

    // Acknowledged by alias, as Ignition writes a tag.
    const mark = host.events.length;
    host.send({ cmd: 'dcmd', edge: 'gw1', device: 'motor_01', token: OPERATOR, metrics: [{ alias: ackedAlias, datatype: 11, value: true }] });
    const acked = await host.waitFor((e) => e.type === 'DDATA' && e.device === 'motor_01' && metric(e, 'Alarms/speed/hi/Acked')?.value === true, 'the ack as DDATA', 15_000, mark);
    expect(metric(acked, 'Alarms/speed/hi/State')!.value).toBe('active_ack');
    expect(gw.gateway.alarms.table.view('motor_01.speed.hi')!.state).toBe('active_ack');
    const ackEvent = gw.gateway.alarms.table.since(0)!.find((e) => e.alarm_id === 'motor_01.speed.hi' && e.transition === 'ack')!;
    expect(ackEvent.by).toMatchObject({ token: 'mqtt:scada_op', remote: 'mqtt DCMD motor_01 Alarms/speed/hi/Acked' });
    const audit = await alarmAudit(gw, stateDir);
    expect(audit).toEqual([
      expect.objectContaining({ token: 'mqtt:dashboard', device: 'motor_01', previous: { alarm: 'motor_01.speed.hi', state: 'active_unack' }, requested: { alarm_action: 'ack' }, outcome: 'error', error_code: 'forbidden' }),
      expect.objectContaining({ token: 'mqtt:scada_op', device: 'motor_01', requested: { alarm_action: 'ack' }, outcome: 'ok', new_state: { alarm: 'motor_01.speed.hi', state: 'active_ack' } }),
    ]);
    expect(counters()['commands_applied_total']).toBe(1);
    expect(host.violations()).toEqual([]);
  });
});
