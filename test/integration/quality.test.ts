/**
 * Every value's quality, end to end, against real peers: a line controller on a PTY (bad and
 * stale points), a pymodbus TCP slave that is stopped (offline: every point stale), the real uWS
 * server on port 0, independent `ws` clients and the typed client across a dropped connection.
 */
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startGateway, TestClient, type Msg, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { startPyModbus, waitFor as waitForAsync, type PyModbusPeer } from '../peers/modbus.js';
import { newClient, Recorder } from '../client/fixtures.js';
import { waitFor } from './line-pty.js';
import { QUALITY_DEVICE as ID, qualityDevice, startQualityRig, type QualityRig } from './quality-fixtures.js';

/** The same points with the same qualities, in any order. */
const sameQuality = (a: Record<string, string> | undefined, b: Record<string, string>) =>
  a !== undefined && Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, q]) => a[k] === q);
const isUpdate = (pred: (m: Msg) => boolean) => (m: Msg) => m['type'] === 'device_update' && m['device_id'] === ID && pred(m);

describe.skipIf(!peers('socat', 'python3'))('quality seen by WebSocket clients: a line controller on a PTY', () => {
  let rig: QualityRig;
  let gw: RunningGateway;
  let ws: TestClient;
  const snap = () => gw.gateway.registry.snapshot(ID)!;

  beforeAll(async () => {
    rig = await startQualityRig();
    gw = await startGateway({
      log: { level: 'warn' },
      devices: [qualityDevice(rig.path), { id: 'sensor_01', driver: 'simulator', model: 'sensor', poll_interval_ms: 200 }],
    });
    ws = await TestClient.connect(gw.wsUrl);
    await waitFor('every point read once', () => Object.keys(snap().quality).length === 3, 5000);
  });
  afterAll(async () => {
    ws?.close();
    await gw?.stop();
    await rig?.stop();
  });

  it('a point the device refuses is bad from its first poll, without a value, in the diff, the welcome, get_status and REST', async () => {
    const first = await ws.next(isUpdate((m) => m['data'].quality?.load === 'bad'));
    expect(first['data'].new_state).not.toHaveProperty('load');
    const late = await TestClient.connect(gw.wsUrl);
    try {
      const welcome = (late.messages[0]!['devices'] as Msg[]).find((d) => d['device_id'] === ID)!;
      expect(welcome['quality']).toEqual({ speed: 'good', temperature: 'good', load: 'bad' });
      expect(welcome['state']).toEqual({ speed: 1200, temperature: 31.5 });
      const status = await late.request({ action: 'get_status', device_id: ID });
      expect(status['data'].quality).toEqual({ speed: 'good', temperature: 'good', load: 'bad' });
      const all = await late.request({ action: 'get_all_status' });
      expect(all['devices'].find((d: Msg) => d['device_id'] === ID).quality).toEqual({ speed: 'good', temperature: 'good', load: 'bad' });
    } finally {
      late.close();
    }
    const one = await getJson(`${gw.url}/api/v1/devices/${ID}`);
    expect(one.json).toMatchObject({ state: { speed: 1200, temperature: 31.5 }, quality: { speed: 'good', temperature: 'good', load: 'bad' } });
    const list = await getJson(`${gw.url}/api/v1/devices`);
    expect(list.json.devices.find((d: Msg) => d['device_id'] === ID).quality).toEqual({ speed: 'good', temperature: 'good', load: 'bad' });
  });

  it('REST lists only the devices showing a value of the qualities asked for, and refuses a quality it does not know', async () => {
    const bad = await getJson(`${gw.url}/api/v1/devices?quality=stale,bad`);
    expect(bad.status).toBe(200);
    expect(bad.json.devices.map((d: Msg) => d['device_id'])).toEqual([ID]);
    expect(bad.json.count).toBe(1);
    const good = await getJson(`${gw.url}/api/v1/devices?quality=good`);
    expect(good.json.devices.map((d: Msg) => d['device_id']).sort()).toEqual([ID, 'sensor_01']);
    expect((await getJson(`${gw.url}/api/v1/devices?quality=stale`)).json).toMatchObject({ devices: [], count: 0 });
    const wrong = await getJson(`${gw.url}/api/v1/devices?quality=stale,broken`);
    expect(wrong.status).toBe(400);
    expect(wrong.json).toMatchObject({ error_code: 'invalid_request' });
    expect(wrong.json.message).toMatch(/quality "broken" is not one of good, stale, bad, uncertain/);
    const unknown = await getJson(`${gw.url}/api/v1/devices?qualty=bad`);
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toMatch(/unknown query parameter "qualty"/);
  });

  it('a reading that does not convert turns the point bad, keeping the last good value and its time; a number again turns it good', async () => {
    const before = (await getJson(`${gw.url}/api/v1/devices/${ID}`)).json;
    expect(before.quality.speed).toBe('good');
    const from = ws.messages.length;
    await rig.speed('x');
    const bad = await ws.next(isUpdate((m) => m['data'].quality?.speed === 'bad'), 5000, from);
    // A quality-only diff: no value moved, and an ADR client sees an update with nothing in it.
    expect(bad['data']).toMatchObject({ new_state: {}, previous_state: {}, quality: { speed: 'bad' }, action: 'poll' });
    const during = (await getJson(`${gw.url}/api/v1/devices/${ID}`)).json;
    expect(during).toMatchObject({ online: true, state: { speed: before.state.speed }, quality: { speed: 'bad' }, last_update: before.last_update });
    await rig.speed(1300);
    const good = await ws.next(isUpdate((m) => m['data'].new_state.speed === 1300), 5000, from);
    expect(good['data'].quality).toEqual({ speed: 'good' });
    expect(good['seq']).toBe(bad['seq'] + 1);
  });

  it('a controller that stops answering: its polled point turns stale, then the device goes offline with every good point stale; back, all good again', async () => {
    const from = ws.messages.length;
    const { last_update: lastGood, state: values } = snap();
    await rig.answer(false);
    // Whichever request goes unanswered first turns its points stale while the device is still online.
    const stale = await ws.next(isUpdate((m) => Object.values(m['data'].quality ?? {}).includes('stale')), 5000, from);
    expect(stale['data']).toMatchObject({ new_state: {}, action: 'poll' });
    const offline = await ws.next(isUpdate((m) => m['data'].new_state.online === false), 5000, from);
    // The offline diff turns stale whatever was still good; load stays bad.
    expect(offline['data'].action).toBe('status');
    expect(Object.values(offline['data'].quality ?? {}).every((q) => q === 'stale')).toBe(true);
    const down = (await getJson(`${gw.url}/api/v1/devices/${ID}`)).json;
    expect(down).toMatchObject({ online: false, state: values, quality: { speed: 'stale', temperature: 'stale' } });
    // load is bad, or stale if its request was the one left unanswered: never good.
    expect(['bad', 'stale']).toContain(down.quality.load);
    expect(down.last_update).toBe(lastGood);

    await rig.answer(true);
    const back = await ws.next(isUpdate((m) => m['data'].new_state.online === true), 10_000, from);
    expect(back['data'].quality).toMatchObject({ speed: 'good' });
    await waitFor('every point read again', () => sameQuality(snap().quality, { speed: 'good', temperature: 'good', load: 'bad' }), 5000);
  });

  it('a client resuming with since gets the quality changes it missed, in order, before `subscribed`', async () => {
    const c = await TestClient.connect(`${gw.wsUrl}?devices=`);
    try {
      const since = snap().seq;
      await rig.speed('y');
      await waitFor('speed bad', () => snap().quality['speed'] === 'bad');
      await rig.speed(1400);
      await waitFor('speed good at 1400', () => snap().quality['speed'] === 'good' && snap().state['speed'] === 1400);
      const from = c.messages.length;
      const done = await c.request({ action: 'subscribe', device_id: ID, since, instance: gw.gateway.registry.instance });
      expect(done).toMatchObject({ type: 'subscribed', replayed: snap().seq - since });
      const replayed = c.messages.slice(from).filter((m) => m['type'] === 'device_update');
      expect(replayed.map((m) => m['seq'])).toEqual(Array.from({ length: snap().seq - since }, (_, i) => since + 1 + i));
      const marks = replayed.map((m) => m['data'].quality?.speed).filter((q) => q !== undefined);
      expect(marks).toEqual(['bad', 'good']);
    } finally {
      c.close();
    }
  });
});

describe.skipIf(!peers('socat', 'python3'))('the typed client keeps each point quality as the registry does', () => {
  let rig: QualityRig;
  let gw: RunningGateway;
  const stops: (() => void)[] = [];
  const snap = () => gw.gateway.registry.snapshot(ID)!;

  beforeAll(async () => {
    rig = await startQualityRig();
    // A replay ring of 1 diff: a longer absence resyncs from a snapshot instead.
    gw = await startGateway({ log: { level: 'warn' }, registry: { replay_size: 1 }, devices: [qualityDevice(rig.path)] });
    await waitFor('every point read once', () => Object.keys(snap().quality).length === 3, 5000);
  });
  afterEach(() => {
    for (const s of stops.splice(0)) s();
  });
  afterAll(async () => {
    await gw?.stop();
    await rig?.stop();
  });

  it('through live diffs, a resume that replays and a resync from a snapshot', async () => {
    const { client, control } = newClient(gw.url);
    stops.push(() => client.stop());
    const rec = new Recorder(client);
    const held = () => client.device(ID);
    const inStep = () => {
      const d = held();
      const s = snap();
      return d !== undefined && d.seq === s.seq && sameQuality(d.quality, s.quality) && d.last_update === s.last_update;
    };
    client.start();
    await rec.when(() => rec.synced >= 1 && inStep(), 10_000, 'the first sync');

    // Live: bad, then good.
    await rig.speed('x');
    await rec.when(() => held()?.quality?.['speed'] === 'bad' && inStep(), 5000, 'speed bad in the client');
    expect(held()!.state['speed']).toBe(1200);
    await rig.speed(1200);
    await rec.when(() => held()?.quality?.['speed'] === 'good' && inStep(), 5000, 'speed good again in the client');

    // Away for one quality change: the resume replays it.
    control.open = false;
    (control.sockets.at(-1) as unknown as WebSocket).terminate();
    await rig.speed('x');
    await waitFor('speed bad in the registry', () => snap().quality['speed'] === 'bad');
    const seqAway = snap().seq;
    control.open = true;
    await rec.when(() => rec.synced >= 2 && inStep(), 15_000, 'the resume');
    expect(held()!.quality!['speed']).toBe('bad');
    expect(rec.resyncs.filter((r) => r.reason !== 'initial')).toEqual([]);
    expect(held()!.seq).toBe(seqAway);

    // Away while the device goes offline (more diffs than the ring holds): a resync.
    control.open = false;
    (control.sockets.at(-1) as unknown as WebSocket).terminate();
    await rig.answer(false);
    await waitFor('offline in the registry', () => !snap().online, 5000);
    // The unanswered read made speed stale (no longer bad: nothing was read at all).
    expect(snap().quality).toMatchObject({ speed: 'stale', temperature: 'stale' });
    control.open = true;
    await rec.when(() => rec.synced >= 3 && inStep(), 15_000, 'the resync');
    expect(rec.resyncs.some((r) => r.reason === 'replay_unavailable' && r.snapshot)).toBe(true);
    expect(held()).toMatchObject({ online: false, quality: { speed: 'stale', temperature: 'stale' } });
    await rig.answer(true);
    await rig.speed(1200);
    await rec.when(() => held()?.online === true && held()?.quality?.['speed'] === 'good' && held()?.quality?.['temperature'] === 'good' && inStep(), 10_000, 'back online, good');
  });
});

describe.skipIf(!peers('/usr/bin/python3'))('quality seen by a WebSocket client: a Modbus TCP slave that stops', () => {
  let first: PyModbusPeer | undefined;
  let second: PyModbusPeer | undefined;
  let gw: RunningGateway | undefined;
  let ws: TestClient | undefined;
  afterAll(async () => {
    ws?.close();
    await gw?.stop();
    await first?.stop();
    await second?.stop();
  });

  it('stopped: the device goes offline with every point stale, values and time kept; restarted: good again', async () => {
    first = await startPyModbus('tcp', 0, { units: [1] });
    const port = first.port;
    await first.set(1, 'hr', 0, [150, 41]);
    gw = await startGateway({
      log: { level: 'warn' },
      buses: [{ id: 'plc', kind: 'tcp', host: '127.0.0.1', port, timeout_ms: 200, retries: 0, reconnect_max_ms: 300 }],
      devices: [
        {
          id: 'pump_1',
          driver: 'modbus',
          bus: 'plc',
          unit: 1,
          poll_interval_ms: 50,
          points: { flow: { table: 'holding', address: 0 }, temperature: { table: 'holding', address: 1 } },
        },
      ],
    } as never);
    const g = gw;
    const snap = () => g.gateway.registry.snapshot('pump_1')!;
    await waitForAsync('both points good', () => snap().quality['flow'] === 'good' && snap().quality['temperature'] === 'good');
    ws = await TestClient.connect(g.wsUrl);
    const w = ws;
    const welcome = (w.messages[0]!['devices'] as Msg[])[0]!;
    expect(welcome).toMatchObject({ online: true, state: { flow: 150, temperature: 41 }, quality: { flow: 'good', temperature: 'good' } });
    const lastGood = snap().last_update;

    await first.stop();
    const offline = await w.next((m) => m['type'] === 'device_update' && m['data'].new_state.online === false, 10_000);
    expect(offline['data']).toMatchObject({ action: 'status', quality: { flow: 'stale', temperature: 'stale' } });
    const rest = (await getJson(`${g.url}/api/v1/devices/pump_1`)).json;
    expect(rest).toMatchObject({ online: false, state: { flow: 150, temperature: 41 }, quality: { flow: 'stale', temperature: 'stale' }, last_update: lastGood });

    // The same values as before: only the device's return and the qualities change.
    second = await startPyModbus('tcp', port, { units: [1] });
    await second.set(1, 'hr', 0, [150, 41]);
    const back = await w.next((m) => m['type'] === 'device_update' && m['data'].new_state.online === true, 15_000);
    expect(back['data'].quality).toEqual({ flow: 'good', temperature: 'good' });
    expect(back['data'].new_state).toEqual({ online: true });
  });
});
