/**
 * `subscribe` of devices: one device (replay after `since`, or a snapshot), or a batch
 * (`"devices": {id: since}`) answered device by device and closed by `subscribed_batch`; and
 * which topics a socket is on for its devices (its own or a shared one: ws-topics.ts).
 */
import { GatewayError, asGatewayError } from '../core/errors.js';
import { deviceErrorMessage, deviceUpdateMessage, deviceView, reply, type BatchEntry, type ClientMessage, type RequestId } from './protocol.js';
import type { Socket, WsContext } from './ws-connection.js';
import type { SharedTopic } from './ws-topics.js';

export function requireDevice(ctx: WsContext, deviceId: string): void {
  if (!ctx.registry.has(deviceId)) throw new GatewayError('device_not_found', `Device ${deviceId} not found`);
}

/** A replay may use half the backpressure limit: past it the socket would close mid-replay. */
export function replayBudget(ctx: WsContext): number {
  return ctx.config.max_backpressure_bytes / 2;
}

/**
 * One device: replay then `subscribed`, or a resync `device_status` then `subscribed`. A replay
 * larger than `budget` bytes is answered with the snapshot instead. Returns the bytes sent.
 */
export function subscribeOne(ctx: WsContext, ws: Socket, deviceId: string, since: number | undefined, instance: string | undefined, id: RequestId | undefined, budget: number): number {
  const { registry } = ctx;
  requireDevice(ctx, deviceId);
  if (!hears(ws, deviceId)) {
    ctx.security.checkSubscription(subscriptionCount(ws));
    ws.subscribe(deviceId);
  }
  const snap = registry.snapshot(deviceId)!;
  let bytes = 0;
  const out = (text: string): void => {
    bytes += text.length;
    ctx.send(ws, text);
  };
  if (since !== undefined) {
    // Seqs restart with the process: a `since` without this instance's id cannot be trusted.
    const missed = instance === registry.instance ? registry.since(deviceId, since) : null;
    const replay = missed?.map(deviceUpdateMessage);
    // A replay larger than half the backpressure limit would close the socket mid-way and
    // the client would ask for the same replay again, forever: a snapshot is smaller.
    if (replay !== undefined && replay.reduce((n, t) => n + t.length, 0) <= budget) {
      for (const text of replay) out(text);
      out(reply('subscribed', { device_id: deviceId, seq: snap.seq, replayed: replay.length }, id));
      return bytes;
    }
    out(reply('device_status', { device_id: deviceId, seq: snap.seq, data: deviceView(snap), resync: true }));
  }
  // The snapshot lets a client that was unsubscribed catch up on what it did not hear.
  out(reply('subscribed', { device_id: deviceId, seq: snap.seq, data: deviceView(snap) }, id));
  return bytes;
}

/**
 * A resume of many devices in one message: each device answered as a single subscribe would
 * be (without the request id), in the order given; a device that fails gets its error (with
 * its device_id) and the rest go on; `subscribed_batch` with the id closes the batch.
 */
export function subscribeBatch(ctx: WsContext, ws: Socket, msg: Extract<ClientMessage, { devices: BatchEntry[] }>): void {
  // Every device of the batch shares the half of the backpressure limit one replay may use.
  let sent = 0;
  const failed: string[] = [];
  for (const entry of msg.devices) {
    if (ws.getUserData().guard.closing) return; // closed as a slow consumer: the client resumes again
    try {
      sent += subscribeOne(ctx, ws, entry.device_id, entry.since ?? undefined, msg.instance, undefined, replayBudget(ctx) - sent);
    } catch (err) {
      const e = asGatewayError(err);
      if (e.code === 'internal_error') ctx.log.error({ err, device: entry.device_id }, 'batch subscribe failed for a device');
      failed.push(entry.device_id);
      ctx.send(ws, deviceErrorMessage(e.code, e.message, entry.device_id));
    }
  }
  ctx.send(ws, reply('subscribed_batch', { count: msg.devices.length, subscribed: msg.devices.length - failed.length, failed }, msg.id));
}

/** Whether the socket hears a device's diffs (through its shared topic or the device's own). */
export function hears(ws: Socket, deviceId: string): boolean {
  return ws.getUserData().shared?.devices.has(deviceId) === true || ws.isSubscribed(deviceId);
}

/** How many devices the socket hears, for limits.max_subscriptions (the alarms topic counts as one, as before). */
export function subscriptionCount(ws: Socket): number {
  const shared = ws.getUserData().shared;
  return ws.getTopics().length + (shared === undefined ? 0 : shared.devices.size - 1);
}

/** Follows every device of the list through its one shared topic. */
export function joinShared(ws: Socket, topic: SharedTopic): void {
  ws.subscribe(topic.topic);
  ws.getUserData().shared = topic;
}

/** Stops hearing a device: a device of the shared list moves the socket to the topics of the others. */
export function stopHearing(ws: Socket, deviceId: string): void {
  const conn = ws.getUserData();
  const shared = conn.shared;
  if (shared === undefined || !shared.devices.has(deviceId)) {
    ws.unsubscribe(deviceId);
    return;
  }
  ws.unsubscribe(shared.topic);
  conn.shared = undefined;
  for (const id of shared.devices) if (id !== deviceId) ws.subscribe(id);
}
