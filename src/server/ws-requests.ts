/**
 * A message from a client: size and rate checked, parsed, its permission checked, then answered
 * by action. A bad message gets an `error` (with its `id` when it had one); the socket stays.
 */
import { asGatewayError } from '../core/errors.js';
import { WS_ACTION_PERMISSION } from './auth-guard.js';
import { subscribeTopic, unsubscribeTopic } from './alarms-ws.js';
import { parseJson } from './http.js';
import { deviceView, errorMessage, parseClientMessage, reply, type ClientMessage } from './protocol.js';
import type { Socket, WsContext } from './ws-connection.js';
import { replayBudget, requireDevice, stopHearing, subscribeBatch, subscribeOne } from './ws-subscribe.js';

export function onMessage(ctx: WsContext, ws: Socket, message: ArrayBuffer): void {
  const { config, stats, log } = ctx;
  stats.messagesIn++;
  if (!ctx.security.admitMessage(ws)) return;
  if (message.byteLength > config.max_message_bytes) {
    ws.end(1009, `message too big: ${message.byteLength} bytes, limit ${config.max_message_bytes}`);
    return;
  }
  let id: ClientMessage['id'];
  try {
    const parsed = parseJson(message);
    if (typeof parsed === 'object' && parsed !== null && 'id' in parsed) {
      const raw = (parsed as { id: unknown }).id;
      if (typeof raw === 'string' || typeof raw === 'number') id = raw;
    }
    handle(ctx, ws, parseClientMessage(parsed));
  } catch (err) {
    const e = asGatewayError(err);
    if (e.code === 'internal_error') log.error({ err }, 'websocket message failed');
    ctx.send(ws, errorMessage(e.code, e.message, id));
  }
}

function handle(ctx: WsContext, ws: Socket, msg: ClientMessage): void {
  const { registry } = ctx;
  const send = (text: string): void => ctx.send(ws, text);
  ctx.security.requireOnConnection(ws.getUserData().guard, WS_ACTION_PERMISSION[msg.action], `"${msg.action}"`);
  switch (msg.action) {
    case 'ping':
      send(reply('pong', {}, msg.id));
      return;
    case 'get_all_status':
      send(reply('all_devices_status', { devices: registry.list().map(deviceView) }, msg.id));
      return;
    case 'get_status':
      requireDevice(ctx, msg.device_id);
      send(reply('device_status', { device_id: msg.device_id, data: deviceView(registry.snapshot(msg.device_id)!) }, msg.id));
      return;
    case 'unsubscribe':
      if ('topic' in msg) return unsubscribeTopic(ctx, ws, msg, send);
      requireDevice(ctx, msg.device_id);
      stopHearing(ws, msg.device_id);
      send(reply('unsubscribed', { device_id: msg.device_id }, msg.id));
      return;
    case 'subscribe':
      if ('topic' in msg) subscribeTopic(ctx, ws, msg, send);
      else if ('devices' in msg) subscribeBatch(ctx, ws, msg);
      else subscribeOne(ctx, ws, msg.device_id, msg.since, msg.instance, msg.id, replayBudget(ctx));
      return;
  }
}
