/**
 * The `alarms` WebSocket topic: `{"action": "subscribe", "topic": "alarms", "since": 41}`.
 *
 * Without `since`: `subscribed` with the alarms that are not normal and the seq to resume after.
 * With `since`: the `alarm_event`s after it when still held (then `subscribed` with `replayed`),
 * else `subscribed` with the list and `resync: true`. Alarm seqs go on across restarts (they
 * are kept with the alarm state), so `since` needs no instance. Transitions are published once
 * to the uWS topic ALARM_TOPIC, which no device id can be.
 */
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { GatewayError } from '../core/errors.js';
import type { AlarmEvent, AlarmEventMessage, AlarmsSubscribedMessage, AlarmsUnsubscribedMessage } from '../protocol/alarms.js';
import type { AlarmService } from '../alarms/service.js';
import type { ServerContext } from './context.js';
import type { Connection } from './ws-connection.js';
import { listReply } from './alarms-routes.js';
import { now, type ClientMessage, type RequestId } from './protocol.js';

/** `$` is not allowed in a device id: no device topic can collide with it. */
export const ALARM_TOPIC = '$alarms';

export function alarmEventMessage(e: AlarmEvent): string {
  const msg: AlarmEventMessage = { type: 'alarm_event', topic: 'alarms', seq: e.seq, event: e, timestamp: now() };
  return JSON.stringify(msg);
}

function subscribed(body: Omit<AlarmsSubscribedMessage, 'type' | 'topic' | 'timestamp' | 'id'>, id: RequestId | undefined): string {
  const msg: AlarmsSubscribedMessage = { type: 'subscribed', topic: 'alarms', ...body, timestamp: now(), ...(id === undefined ? {} : { id }) };
  return JSON.stringify(msg);
}

/** Publishes every transition to the topic; returns the unsubscribe. */
export function publishAlarms(app: Pick<TemplatedApp, 'publish'>, alarms: AlarmService): () => void {
  return alarms.table.onEvent((e) => {
    app.publish(ALARM_TOPIC, alarmEventMessage(e), false);
  });
}

function service(ctx: ServerContext): AlarmService {
  if (ctx.alarms === undefined) throw new GatewayError('invalid_message', 'this gateway has no alarms');
  return ctx.alarms;
}

export function subscribeTopic(ctx: ServerContext, ws: WebSocket<Connection>, msg: Extract<ClientMessage, { topic: string; action: 'subscribe' }>, send: (text: string) => void): void {
  const alarms = service(ctx);
  // Subscribing and taking the snapshot or replay in this same tick: no transition falls between.
  ws.subscribe(ALARM_TOPIC);
  const seq = alarms.table.seq;
  if (msg.since !== undefined) {
    const missed = alarms.table.since(msg.since);
    if (missed !== null) {
      for (const e of missed) send(alarmEventMessage(e));
      send(subscribed({ seq, replayed: missed.length }, msg.id));
      return;
    }
    send(subscribed({ ...listReply(alarms, {}), resync: true }, msg.id));
    return;
  }
  send(subscribed(listReply(alarms, {}), msg.id));
}

export function unsubscribeTopic(ctx: ServerContext, ws: WebSocket<Connection>, msg: Extract<ClientMessage, { topic: string; action: 'unsubscribe' }>, send: (text: string) => void): void {
  service(ctx);
  ws.unsubscribe(ALARM_TOPIC);
  const out: AlarmsUnsubscribedMessage = { type: 'unsubscribed', topic: msg.topic, timestamp: now(), ...(msg.id === undefined ? {} : { id: msg.id }) };
  send(JSON.stringify(out));
}
