/**
 * Real messages from a real gateway (port 0) held against the protocol module's types: a field
 * the server sends that the shared types lack (or a required one it leaves out) fails here, so
 * the server, the typed client, the CLI and the HMI cannot drift apart unnoticed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALARM_EVENT_FIELDS, ALARM_VIEW_FIELDS, CONTROL_RESULT_FIELDS, DEVICE_VIEW_FIELDS, fieldProblems, messageProblems } from '../../src/protocol/shapes.js';
import { getJson, postJson, startGateway, TestClient, type RunningGateway } from '../helpers/gateway.js';

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw.stop());

describe('REST replies match the protocol types', () => {
  it('a device view, the device list and the control result', async () => {
    const one = await getJson(`${gw.url}/api/v1/devices/motor_01`);
    expect(one.status).toBe(200);
    expect(fieldProblems(one.json, DEVICE_VIEW_FIELDS, 'GET /devices/motor_01')).toEqual([]);
    const list = await getJson(`${gw.url}/api/v1/devices`);
    expect(list.json.devices.length).toBe(4);
    for (const d of list.json.devices) expect(fieldProblems(d, DEVICE_VIEW_FIELDS, `GET /devices ${d.device_id}`)).toEqual([]);
    const control = await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1200 });
    expect(control.status).toBe(200);
    expect(fieldProblems(control.json, CONTROL_RESULT_FIELDS, 'POST /devices/motor_01')).toEqual([]);
    const same = await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1200 });
    expect(same.json.changed).toBe(false);
    expect(fieldProblems(same.json, CONTROL_RESULT_FIELDS, 'POST /devices/motor_01 unchanged')).toEqual([]);
  });

  it('a check that finds a field the types lack and a required one missing', () => {
    expect(fieldProblems({ device_id: 'x', extra: 1 }, CONTROL_RESULT_FIELDS, 'r')).toEqual(
      expect.arrayContaining(['r.extra: not in the protocol type', 'r.seq: required, missing']),
    );
  });
});

describe('WebSocket messages match the protocol types', () => {
  it('every message of a session: welcome, status, subscribe (snapshot, replay, resync, batch), updates, errors', async () => {
    const c = await TestClient.connect(`${gw.wsUrl}?devices=motor_01,ghost`);
    c.send({ action: 'get_all_status', id: 1 });
    await c.next((m) => m['type'] === 'all_devices_status');
    c.send({ action: 'get_status', device_id: 'motor_02', id: 'a' });
    await c.next((m) => m['type'] === 'device_status' && m['id'] === 'a');
    c.send({ action: 'subscribe', device_id: 'sensor_01', id: 2 });
    const snap = await c.next((m) => m['type'] === 'subscribed' && m['device_id'] === 'sensor_01');
    c.send({ action: 'subscribe', device_id: 'sensor_02', since: snap['seq'], id: 3 });
    await c.next((m) => m['type'] === 'subscribed' && m['device_id'] === 'sensor_02');
    c.send({ action: 'subscribe', device_id: 'motor_02', since: 1, instance: 'another-instance', id: 4 });
    await c.next((m) => m['type'] === 'device_status' && m['resync'] === true);
    c.send({ action: 'subscribe', devices: { motor_01: null, nobody: 0 }, id: 5 });
    await c.next((m) => m['type'] === 'subscribed_batch');
    await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 900 });
    await c.next((m) => m['type'] === 'device_update' && m['data']['action'] === 'device_control');
    c.send({ action: 'ping', id: 6 });
    await c.next((m) => m['type'] === 'pong');
    c.send({ action: 'unsubscribe', device_id: 'sensor_01', id: 7 });
    await c.next((m) => m['type'] === 'unsubscribed');
    c.send({ action: 'warp' });
    await c.next((m) => m['type'] === 'error' && m['error_code'] === 'unknown_action');
    c.ws.close();

    const types = new Set(c.messages.map((m) => m['type']));
    for (const t of ['connection_established', 'all_devices_status', 'device_status', 'subscribed', 'subscribed_batch', 'device_update', 'pong', 'unsubscribed', 'error']) {
      expect(types, `no ${t} seen`).toContain(t);
    }
    const problems = c.messages.flatMap((m) => messageProblems(m));
    expect(problems).toEqual([]);
  });
});

describe('the alarms topic and the alarm REST replies match the protocol types', () => {
  let agw: RunningGateway;
  beforeAll(async () => {
    agw = await startGateway({
      devices: [{ id: 'motor_01', driver: 'simulator', model: 'motor', poll_interval_ms: 50, alarms: { points: { speed: { hi: 2500 } } } }],
    });
  });
  afterAll(() => agw.stop());

  it('subscribe (list, then a resume), alarm_event, unsubscribe; GET /alarms and /alarms/events', async () => {
    const c = await TestClient.connect(`${agw.wsUrl}?devices=`);
    const first = await c.request({ action: 'subscribe', topic: 'alarms' });
    expect(first).toMatchObject({ type: 'subscribed', topic: 'alarms', count: 0 });
    expect((await postJson(`${agw.url}/api/v1/devices/motor_01`, { speed: 2600 })).status).toBe(200);
    const raised = await c.next((m) => m['type'] === 'alarm_event' && m['event']['transition'] === 'raise');
    const listed = await c.request({ action: 'subscribe', topic: 'alarms' });
    expect(listed['alarms']).toHaveLength(1);
    const resumed = await c.request({ action: 'subscribe', topic: 'alarms', since: first['seq'] });
    expect(resumed['replayed']).toBeGreaterThanOrEqual(1);
    expect(await c.request({ action: 'unsubscribe', topic: 'alarms' })).toMatchObject({ type: 'unsubscribed', topic: 'alarms' });
    c.ws.close();
    expect(raised['seq']).toBe(raised['event']['seq']);
    const problems = c.messages.flatMap((m) => messageProblems(m));
    expect(problems).toEqual([]);

    const list = await getJson(`${agw.url}/api/v1/alarms`);
    expect(list.json.alarms).toHaveLength(1);
    for (const a of list.json.alarms) expect(fieldProblems(a, ALARM_VIEW_FIELDS, `GET /alarms ${a.id}`)).toEqual([]);
    const events = await getJson(`${agw.url}/api/v1/alarms/events`);
    expect(events.json.events.length).toBeGreaterThanOrEqual(1);
    for (const e of events.json.events) expect(fieldProblems(e, ALARM_EVENT_FIELDS, `GET /alarms/events ${e.seq}`)).toEqual([]);
  });

  it('a check that finds an alarm message field the types lack', () => {
    expect(messageProblems({ type: 'subscribed', topic: 'alarms', seq: 1, timestamp: 1, extra: true })).toEqual(['subscribed.extra: not in the protocol type']);
    expect(messageProblems({ type: 'alarm_event', topic: 'alarms', seq: 1, timestamp: 1, event: { seq: 1 } })).toEqual(
      expect.arrayContaining(['alarm_event.event.alarm_id: required, missing']),
    );
  });
});
