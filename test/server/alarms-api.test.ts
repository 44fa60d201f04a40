/**
 * The alarm API on a real gateway (simulator, real uWS on port 0, real WebSocket clients):
 * list and journal, ack / shelve / unshelve with roles and audit, and the `alarms` topic with
 * its snapshot, transitions and resume.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getJson, postJson, TestClient } from '../helpers/gateway.js';
import { makeTokens, startSecured, type SecuredGateway } from '../security/fixtures.js';
import { waitFor } from '../peers/modbus.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const { tokens, entries } = makeTokens();
const auth = (t: string) => ({ Authorization: `Bearer ${t}` });

async function gateway(): Promise<SecuredGateway> {
  const gw = await startSecured({
    auth: { tokens: entries },
    devices: [
      {
        id: 'motor_01',
        driver: 'simulator',
        model: 'motor',
        poll_interval_ms: 50,
        // The speed setpoint is writable: the test drives it across the limits through the control API.
        alarms: { points: { speed: { hi: 2500, hihi: { limit: 2900, priority: 'critical' } } } },
      },
      { id: 'motor_02', driver: 'simulator', model: 'motor', poll_interval_ms: 50, alarms: { points: { speed: { hi: { limit: 2500, priority: 'low' } } } } },
    ],
  });
  cleanups.push(() => gw.cleanup());
  await waitFor('devices online', () => gw.gateway.registry.list().every((d) => d.online));
  return gw;
}

async function setSpeed(gw: SecuredGateway, device: string, speed: number): Promise<void> {
  const res = await postJson(`${gw.url}/api/v1/devices/${device}`, { speed }, auth(tokens.operator));
  expect(res.status).toBe(200);
}

describe('alarm REST API', () => {
  test('lists active alarms sorted by priority, with counts; filters; 404 and 400 with codes', async () => {
    const gw = await gateway();
    expect((await getJson(`${gw.url}/api/v1/alarms`, auth(tokens.viewer))).json).toMatchObject({ count: 0, unacked: 0 });
    await setSpeed(gw, 'motor_02', 2600);
    await setSpeed(gw, 'motor_01', 3000);
    const list = (await getJson(`${gw.url}/api/v1/alarms`, auth(tokens.viewer))).json;
    expect(list.alarms.map((a: { id: string }) => a.id)).toEqual(['motor_01.speed.hihi', 'motor_01.speed.hi', 'motor_02.speed.hi']);
    expect(list.counts).toEqual({ critical: 1, high: 0, medium: 1, low: 1 });
    expect(list.unacked).toBe(3);
    expect(list.alarms[0]).toMatchObject({ state: 'active_unack', value: 3000, limit: 2900, unit: 'rpm', priority: 'critical' });
    const filtered = (await getJson(`${gw.url}/api/v1/alarms?device=motor_02`, auth(tokens.viewer))).json;
    expect(filtered.count).toBe(1);
    const all = (await getJson(`${gw.url}/api/v1/alarms?all=1`, auth(tokens.viewer))).json;
    expect(all.count).toBeGreaterThan(5); // every configured alarm, normal ones too
    expect((await getJson(`${gw.url}/api/v1/alarms?priority=urgent`, auth(tokens.viewer))).json).toMatchObject({ error_code: 'invalid_request' });
    expect((await getJson(`${gw.url}/api/v1/alarms?colour=red`, auth(tokens.viewer))).status).toBe(400);
    const missing = await postJson(`${gw.url}/api/v1/alarms/nope.x/ack`, {}, auth(tokens.operator));
    expect(missing).toMatchObject({ status: 404, json: { error_code: 'alarm_not_found' } });
  });

  test('a viewer cannot acknowledge; an operator can, once; the ack is audited with the token and address', async () => {
    const gw = await gateway();
    await setSpeed(gw, 'motor_01', 2600);
    const refused = await postJson(`${gw.url}/api/v1/alarms/motor_01.speed.hi/ack`, {}, auth(tokens.viewer));
    expect(refused).toMatchObject({ status: 403, json: { error_code: 'forbidden' } });
    const ok = await postJson(`${gw.url}/api/v1/alarms/motor_01.speed.hi/ack`, { comment: 'seen, checking the belt' }, auth(tokens.operator));
    expect(ok).toMatchObject({ status: 200, json: { changed: 1, alarms: [{ id: 'motor_01.speed.hi', state: 'active_ack', comment: 'seen, checking the belt' }] } });
    const again = await postJson(`${gw.url}/api/v1/alarms/motor_01.speed.hi/ack`, {}, auth(tokens.operator));
    expect(again).toMatchObject({ status: 409, json: { error_code: 'alarm_state' } });
    expect(again.json.message).toMatch(/already acknowledged/);
    await gw.gateway.audit.flush();
    const audit = readFileSync(join(gw.stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const acks = audit.filter((r) => r.requested.alarm_action === 'ack');
    expect(acks[0]).toMatchObject({ token: 'operator_token', remote: '127.0.0.1', device: 'motor_01', outcome: 'ok', previous: { alarm: 'motor_01.speed.hi', state: 'active_unack' }, new_state: { state: 'active_ack' } });
    expect(acks[1]).toMatchObject({ outcome: 'error', error_code: 'alarm_state' });
  });

  test('ack all visible by filter; shelve with a duration, unshelve; out of service needs an admin', async () => {
    const gw = await gateway();
    await setSpeed(gw, 'motor_01', 3000);
    await setSpeed(gw, 'motor_02', 2600);
    const some = await postJson(`${gw.url}/api/v1/alarms/ack`, { all: true, device: 'motor_01' }, auth(tokens.operator));
    expect(some.json.changed).toBe(2);
    expect(gw.gateway.alarms.table.view('motor_02.speed.hi')!.state).toBe('active_unack');
    const byId = await postJson(`${gw.url}/api/v1/alarms/ack`, { ids: ['motor_02.speed.hi', 'motor_01.speed.hi'] }, auth(tokens.operator));
    expect(byId.json).toMatchObject({ changed: 1, unchanged: [{ id: 'motor_01.speed.hi', reason: 'it is active ack' }] });

    const bad = await postJson(`${gw.url}/api/v1/alarms/motor_02.speed.hi/shelve`, { for: 'soon' }, auth(tokens.operator));
    expect(bad).toMatchObject({ status: 400, json: { error_code: 'invalid_request' } });
    const tooLong = await postJson(`${gw.url}/api/v1/alarms/motor_02.speed.hi/shelve`, { for: '3d' }, auth(tokens.operator));
    expect(tooLong).toMatchObject({ status: 422, json: { error_code: 'validation_error' } });
    const shelved = await postJson(`${gw.url}/api/v1/alarms/motor_02.speed.hi/shelve`, { for: '30m' }, auth(tokens.operator));
    expect(shelved.json.alarms[0]).toMatchObject({ state: 'shelved', shelved_by: 'operator_token' });
    expect(shelved.json.alarms[0].shelved_until - Date.now() / 1000).toBeGreaterThan(1790);
    expect((await getJson(`${gw.url}/api/v1/alarms`, auth(tokens.viewer))).json.counts.low).toBe(0);
    const back = await postJson(`${gw.url}/api/v1/alarms/motor_02.speed.hi/unshelve`, {}, auth(tokens.operator));
    expect(back.json.alarms[0].state).toBe('active_unack');

    expect((await postJson(`${gw.url}/api/v1/alarms/motor_02.speed.hi/out_of_service`, {}, auth(tokens.operator))).status).toBe(403);
    const oos = await postJson(`${gw.url}/api/v1/alarms/motor_02.speed.hi/out_of_service`, { comment: 'sensor replaced on Monday' }, auth(tokens.admin));
    expect(oos.json.alarms[0].state).toBe('out_of_service');
  });

  test('the journal pages backwards and filters', async () => {
    const gw = await gateway();
    await setSpeed(gw, 'motor_01', 3000);
    await setSpeed(gw, 'motor_01', 1000);
    await postJson(`${gw.url}/api/v1/alarms/ack`, { all: true }, auth(tokens.operator));
    const page = (await getJson(`${gw.url}/api/v1/alarms/events?limit=3&device=motor_01`, auth(tokens.viewer))).json;
    expect(page.events.map((e: { transition: string }) => e.transition)).toEqual(['ack', 'ack', 'clear']);
    expect(page.next_before).toBe(page.events[2].seq);
    const older = (await getJson(`${gw.url}/api/v1/alarms/events?limit=10&device=motor_01&before=${page.next_before}`, auth(tokens.viewer))).json;
    expect(older.events.map((e: { transition: string }) => e.transition)).toEqual(['clear', 'raise', 'raise']);
    expect(older.next_before).toBeNull();
    expect(older.events[2]).toMatchObject({ alarm_id: 'motor_01.speed.hi', device_id: 'motor_01', point: 'speed', kind: 'hi', value: 3000, limit: 2500, by: null });
    expect((await getJson(`${gw.url}/api/v1/alarms/events?from=yesterday`, auth(tokens.viewer))).json.error_code).toBe('invalid_request');
  });
});

describe('alarms WebSocket topic', () => {
  test('subscribe gives the snapshot, then every transition; an ack from another client reaches it', async () => {
    const gw = await gateway();
    await setSpeed(gw, 'motor_01', 2600);
    const ws = await TestClient.connect(`${gw.wsUrl}?token=${tokens.viewer}`);
    cleanups.push(() => ws.close());
    const sub = await ws.request({ action: 'subscribe', topic: 'alarms' });
    expect(sub).toMatchObject({ type: 'subscribed', topic: 'alarms', count: 1, alarms: [{ id: 'motor_01.speed.hi', state: 'active_unack' }] });
    await postJson(`${gw.url}/api/v1/alarms/motor_01.speed.hi/ack`, {}, auth(tokens.operator));
    const ev = await ws.next((m) => m['type'] === 'alarm_event');
    expect(ev).toMatchObject({ topic: 'alarms', seq: sub['seq'] + 1, event: { transition: 'ack', to: 'active_ack', by: { token: 'operator_token' } } });
    expect(ev['seq']).toBe(ev['event'].seq);
    // A client that did not subscribe to the topic gets no alarm events.
    const other = await TestClient.connect(`${gw.wsUrl}?token=${tokens.viewer}`);
    cleanups.push(() => other.close());
    await setSpeed(gw, 'motor_01', 3000);
    await ws.next((m) => m['type'] === 'alarm_event' && m['event'].alarm_id === 'motor_01.speed.hihi');
    expect(other.messages.filter((m) => m['type'] === 'alarm_event')).toEqual([]);
  });

  test('resume with since replays what was missed; a since no longer held resyncs with the list', async () => {
    const gw = await gateway();
    const ws = await TestClient.connect(`${gw.wsUrl}?token=${tokens.viewer}`);
    cleanups.push(() => ws.close());
    const sub = await ws.request({ action: 'subscribe', topic: 'alarms' });
    ws.close();
    await setSpeed(gw, 'motor_01', 3000);
    await setSpeed(gw, 'motor_02', 2600);
    const back = await TestClient.connect(`${gw.wsUrl}?token=${tokens.viewer}`);
    cleanups.push(() => back.close());
    const resumed = await back.request({ action: 'subscribe', topic: 'alarms', since: sub['seq'] });
    expect(resumed).toMatchObject({ type: 'subscribed', replayed: 3 });
    expect(back.messages.filter((m) => m['type'] === 'alarm_event').map((m) => m['seq'])).toEqual([sub['seq'] + 1, sub['seq'] + 2, sub['seq'] + 3]);
    const future = await back.request({ action: 'subscribe', topic: 'alarms', since: 10_000 });
    expect(future).toMatchObject({ resync: true, count: 3 });
    const wrong = await back.request({ action: 'subscribe', topic: 'alerts' });
    expect(wrong).toMatchObject({ type: 'error', error_code: 'invalid_message' });
  });
});
