/**
 * A topic besides devices (`alarms`) on the client's one connection: subscribed once connected,
 * its messages delivered as `topic` events, and after a drop subscribed again with `since`, so
 * the transitions made meanwhile are replayed, each once, in order.
 */
import { afterEach, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import type { GatewayClient } from '../../src/client/index.js';
import type { TopicEvent } from '../../src/client/events.js';
import { newClient, until } from './fixtures.js';

const running: { gw?: RunningGateway; client?: GatewayClient } = {};
afterEach(async () => {
  running.client?.stop();
  await running.gw?.stop();
  running.client = undefined;
  running.gw = undefined;
});

it('follows the alarms topic on the device connection and resumes it by seq after a drop', { timeout: 60_000 }, async () => {
  const gw = await startGateway({
    devices: [{ id: 'motor_01', driver: 'simulator', model: 'motor', poll_interval_ms: 50, alarms: { points: { speed: { hi: 2500 } } } }],
  });
  running.gw = gw;
  const { client, control } = newClient(gw.url);
  running.client = client;
  const got: TopicEvent[] = [];
  let seq: number | undefined;
  client.on('topic', (t) => {
    got.push(t);
    const s = t.message['seq'];
    if (typeof s === 'number') seq = s;
  });
  const updates: number[] = [];
  client.on('update', (u) => updates.push(u.seq));
  client.followTopic('alarms', () => seq);
  client.start();
  await until(() => got.some((t) => t.message['type'] === 'subscribed'), 15_000, 'the alarms snapshot');
  expect(got[0]).toMatchObject({ topic: 'alarms', message: { type: 'subscribed', alarms: [], count: 0 } });

  await gw.gateway.control.write('motor_01', { speed: 3000 });
  await until(() => got.some((t) => t.message['type'] === 'alarm_event'), 15_000, 'the raise');
  const raise = got.find((t) => t.message['type'] === 'alarm_event')!.message;
  expect(raise['event']).toMatchObject({ alarm_id: 'motor_01.speed.hi', transition: 'raise' });
  // Devices arrive on the same connection.
  await until(() => updates.length > 0, 15_000, 'device updates');
  expect(control.sockets).toHaveLength(1);

  // Dropped; the alarm is acknowledged meanwhile.
  control.open = false;
  control.sockets[0]!.terminate();
  await until(() => client.state === 'reconnecting', 15_000, 'the drop');
  await gw.gateway.alarms.act('ack', 'motor_01.speed.hi', { token: 'shift_lead', remote: null });
  const before = got.length;
  control.open = true;
  await until(() => got.slice(before).some((t) => t.message['type'] === 'subscribed'), 15_000, 'subscribed again');
  // The new connection asked from the last seq it had, and got the ack replayed.
  const resub = control.sent.filter((s) => s.on === control.sockets.at(-1) && s.data.includes('"topic":"alarms"')).map((s) => JSON.parse(s.data) as Record<string, unknown>);
  expect(resub).toEqual([{ action: 'subscribe', topic: 'alarms', since: raise['seq'] }]);
  const after = got.slice(before).map((t) => t.message);
  expect(after.map((m) => m['type'])).toEqual(['alarm_event', 'subscribed']);
  expect(after[0]!['event']).toMatchObject({ transition: 'ack', by: { token: 'shift_lead' } });
  expect(after[1]).toMatchObject({ replayed: 1, seq: (raise['seq'] as number) + 1 });
  // Every transition once, in order.
  const seqs = got.filter((t) => t.message['type'] === 'alarm_event').map((t) => t.message['seq']);
  expect(seqs).toEqual([raise['seq'], (raise['seq'] as number) + 1]);
});
