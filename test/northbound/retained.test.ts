/**
 * Retained topics of devices that are gone, against a real Mosquitto: a device removed from the
 * config (while the gateway was stopped, or by a reload) must not leave its last state, its
 * alarm states or its Home Assistant entities on the broker, where every later subscriber would
 * read them as current.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Recorder, type Received } from '../helpers/mqtt-client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { validateConfig } from '../../src/config/load.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const MOTOR = { id: 'motor_01', driver: 'simulator', model: 'motor', poll_interval_ms: 200, alarms: { points: { speed: { hi: 2500 } } } } as const;
const SENSOR = { id: 'sensor_01', driver: 'simulator', model: 'sensor', poll_interval_ms: 200, alarms: { points: { temperature: { hi: 80 } } } } as const;
const TOPICS = ['rt/#', 'homeassistant/#'];

async function broker(): Promise<Mosquitto> {
  const b = new Mosquitto();
  cleanups.push(() => (b.stop(), b.cleanup()));
  await b.start();
  return b;
}

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mgw-nb-retained-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function gateway(b: Mosquitto, dir: string, devices: GatewayConfigInput['devices']): Promise<RunningGateway> {
  const gw = await startGateway({ state_dir: dir, devices, northbound: { enabled: true, mode: 'json', mqtt: { url: b.url }, json: { prefix: 'rt', home_assistant: true } } } as Partial<GatewayConfigInput>);
  cleanups.push(() => gw.stop());
  return gw;
}

const aboutSensor = (m: Received) => m.topic.includes('sensor_01');

/** What a subscriber that comes now finds retained: every retained message up to a marker it sends itself. */
async function retainedNow(b: Mosquitto): Promise<Received[]> {
  const late = await Recorder.connect(b.url, TOPICS);
  cleanups.push(() => late.close());
  // The broker sends the retained messages right after the subscription, so before the marker.
  await late.client.publishAsync('rt/zz_marker', 'end', { qos: 1 });
  await late.waitFor((m) => m.topic === 'rt/zz_marker', 'the marker');
  return late.messages.filter((m) => m.retain);
}

/** Waits until every retained topic about sensor_01 that `sub` saw has been emptied. */
async function allEmptied(sub: Recorder, what: string): Promise<void> {
  const published = [...new Set(sub.messages.filter((m) => aboutSensor(m) && m.payload.length > 0).map((m) => m.topic))].filter((t) => !t.endsWith('/diff') && !/\/alarm\/[^/]+$/.test(t));
  expect(published.length).toBeGreaterThan(3); // its state, an alarm state, and a discovery config per point
  for (const t of published) await sub.waitFor((m) => m.topic === t && m.payload.length === 0, `${t} emptied ${what}`, 15_000);
}

describe.skipIf(!peers('mosquitto'))('retained topics of removed devices', () => {
  test('a device removed while the gateway was stopped: its state, alarm states and discovery configs are emptied at the next start', async () => {
    const b = await broker();
    const dir = stateDir();
    const sub = await Recorder.connect(b.url, TOPICS);
    cleanups.push(() => sub.close());
    const first = await gateway(b, dir, [MOTOR, SENSOR]);
    await sub.waitFor((m) => m.topic === 'rt/sensor_01/state' && m.payload.length > 0, 'the state of sensor_01');
    await sub.waitFor((m) => m.topic === 'rt/sensor_01/alarm/sensor_01.temperature.hi/state', 'the alarm state of sensor_01');
    await sub.waitFor((m) => m.topic.startsWith('homeassistant/') && m.topic.includes('/sensor_01_'), 'a discovery config of sensor_01');
    await first.stop();

    const second = await gateway(b, dir, [MOTOR]);
    await allEmptied(sub, 'after the restart without sensor_01');
    const left = await retainedNow(b);
    expect(left.filter(aboutSensor).map((m) => m.topic)).toEqual([]);
    // What the gateway still describes stays.
    expect(left.map((m) => m.topic)).toEqual(expect.arrayContaining(['rt/status', 'rt/motor_01/state', 'rt/motor_01/alarm/motor_01.speed.hi/state']));
    expect(second.gateway.consumers().find((c) => c.name === 'mqtt')!.health!().counters!['retained_cleared_total']).toBeGreaterThan(3);
  });

  test('a device removed by a reload: the same, at once, and the device added by it is announced and kept', async () => {
    const b = await broker();
    const sub = await Recorder.connect(b.url, TOPICS);
    cleanups.push(() => sub.close());
    const gw = await gateway(b, stateDir(), [MOTOR, SENSOR]);
    await sub.waitFor((m) => m.topic === 'rt/sensor_01/state' && m.payload.length > 0, 'the state of sensor_01');
    await sub.waitFor((m) => m.topic === 'rt/sensor_01/alarm/sensor_01.temperature.hi/state', 'the alarm state of sensor_01');
    await sub.waitFor((m) => m.topic.startsWith('homeassistant/') && m.topic.includes('/sensor_01_'), 'a discovery config of sensor_01');

    const added = { id: 'sensor_02', driver: 'simulator', model: 'sensor', poll_interval_ms: 200 } as const;
    const result = await gw.gateway.reload(validateConfig({ ...gw.config, devices: [MOTOR, added] }));
    expect(result.devicesRemoved).toEqual(['sensor_01']);
    await allEmptied(sub, 'after the reload removed sensor_01');
    await sub.waitFor((m) => m.topic === 'rt/sensor_02/state' && m.payload.length > 0, 'the state of sensor_02');
    const left = await retainedNow(b);
    expect(left.filter(aboutSensor).map((m) => m.topic)).toEqual([]);
    expect(left.map((m) => m.topic)).toEqual(expect.arrayContaining(['rt/status', 'rt/motor_01/state', 'rt/sensor_02/state']));
  });
  test('a device whose points a reload changed: the configs of points it lost are emptied, those of its new points published, at once', async () => {
    const b = await broker();
    const sub = await Recorder.connect(b.url, ['homeassistant/#']);
    cleanups.push(() => sub.close());
    const x1 = (model: 'motor' | 'sensor') => ({ id: 'x1', driver: 'simulator', model, poll_interval_ms: 200 }) as const;
    const gw = await gateway(b, stateDir(), [MOTOR, x1('motor')]);
    const config = (point: string) => (m: Received) => m.topic.endsWith(`/rt/x1_${point}/config`);
    await sub.waitFor((m) => config('speed')(m) && m.payload.length > 0, 'the config of x1.speed');
    // x1 becomes a sensor: no speed any more, a humidity now.
    const result = await gw.gateway.reload(validateConfig({ ...gw.config, devices: [MOTOR, x1('sensor')] }));
    expect(result.devicesRemoved).toEqual([]);
    await sub.waitFor((m) => config('speed')(m) && m.payload.length === 0, 'the config of x1.speed emptied', 15_000);
    await sub.waitFor((m) => config('humidity')(m) && m.payload.length > 0, 'the config of x1.humidity', 15_000);
  });
});
